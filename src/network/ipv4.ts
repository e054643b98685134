// IPv4 addresses and CIDRs as plain numbers: enough arithmetic for subnets, gateways and overlap checks.

import { readFileSync } from 'node:fs';
import { RuntimeError } from '../errors.js';

export interface Cidr {
  /** The network address (host bits cleared). */
  network: number;
  prefix: number;
}

export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff - (2 ** (32 - prefix) - 1)) >>> 0;
}

/** "10.1.2.0/24"; host bits set in the address are refused, as docker refuses them. */
export function parseCidr(text: string, what: string): Cidr {
  const match = /^([\d.]+)\/(\d{1,2})$/.exec(text);
  const address = match ? parseIpv4(match[1]!) : undefined;
  const prefix = match ? Number(match[2]) : NaN;
  if (address === undefined || !(prefix >= 8 && prefix <= 30)) {
    throw new RuntimeError('usage', `${what} ${text}: expected an IPv4 subnet A.B.C.D/N with N from 8 to 30`);
  }
  const network = (address & maskOf(prefix)) >>> 0;
  if (network !== address) throw new RuntimeError('usage', `${what} ${text}: host bits are set (the subnet is ${formatIpv4(network)}/${prefix})`);
  return { network, prefix };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIpv4(cidr.network)}/${cidr.prefix}`;
}

export function contains(cidr: Cidr, address: number): boolean {
  return ((address & maskOf(cidr.prefix)) >>> 0) === cidr.network;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const mask = maskOf(Math.min(a.prefix, b.prefix));
  return ((a.network & mask) >>> 0) === ((b.network & mask) >>> 0);
}

/** The host's IPv4 routes (the main table, as /proc/net/route shows it), default routes left out. */
export function readHostRoutes(): { iface: string; cidr: Cidr }[] {
  let text: string;
  try {
    text = readFileSync('/proc/net/route', 'utf8');
  } catch {
    return [];
  }
  const routes: { iface: string; cidr: Cidr }[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8) continue;
    // Little-endian hex on x86 and arm alike (the kernel prints the __be32 as a host integer).
    const destination = swap32(parseInt(fields[1]!, 16));
    const mask = swap32(parseInt(fields[7]!, 16));
    const prefix = countBits(mask);
    if (prefix === 0) continue;
    routes.push({ iface: fields[0]!, cidr: { network: (destination & maskOf(prefix)) >>> 0, prefix } });
  }
  return routes;
}

function swap32(value: number): number {
  return (((value & 0xff) << 24) | ((value & 0xff00) << 8) | ((value >>> 8) & 0xff00) | ((value >>> 24) & 0xff)) >>> 0;
}

function countBits(value: number): number {
  let count = 0;
  for (let v = value >>> 0; v; v = (v >>> 1)) count += v & 1;
  return count;
}
