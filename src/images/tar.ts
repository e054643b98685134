// A small tar reader and writer: 512-byte headers, ustar (prefix + name), GNU long names and link names
// (typeflags L and K) and PAX extended headers (x, g: path, linkpath, size, uid, gid, mtime, SCHILY.xattr.*).
// Hand-written rather than a dependency: image layers need exactly this subset, streamed with bounded
// memory, and the writer must emit the same dialect (PAX for long names and xattrs) that the reader takes.

import { RuntimeError } from '../errors.js';

const BLOCK = 512;

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo';

export interface TarHeader {
  name: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** From PAX SCHILY.xattr.NAME records. */
  xattrs: Map<string, Buffer>;
}

export interface TarEntry {
  header: TarHeader;
  /** The entry's data; must be consumed (or is skipped) before the next entry is read. */
  body: AsyncIterable<Buffer>;
}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'directory', '6': 'fifo',
};

/** Pulls exact byte counts out of a chunked stream, holding at most one chunk plus a header. */
class ByteReader {
  readonly #iterator: AsyncIterator<Buffer>;
  #buffer: Buffer = Buffer.alloc(0);
  #done = false;

  constructor(source: AsyncIterable<Buffer>) {
    this.#iterator = source[Symbol.asyncIterator]();
  }

  async #fill(): Promise<boolean> {
    if (this.#done) return false;
    const next = await this.#iterator.next();
    if (next.done) {
      this.#done = true;
      return false;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    return true;
  }

  /** Exactly n bytes, or fewer only at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    while (this.#buffer.length < n && (await this.#fill()));
    const out = this.#buffer.subarray(0, n);
    this.#buffer = this.#buffer.subarray(out.length);
    return out;
  }

  /** n bytes as they come, chunk by chunk. */
  async *stream(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.#buffer.length === 0 && !(await this.#fill())) throw truncated();
      const out = this.#buffer.subarray(0, Math.min(left, this.#buffer.length));
      this.#buffer = this.#buffer.subarray(out.length);
      left -= out.length;
      yield out;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.stream(n));
  }
}

function truncated(): RuntimeError {
  return new RuntimeError('invalid-config', 'read tar: the archive ends in the middle of an entry');
}

function readString(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

function readNumber(block: Buffer, offset: number, length: number): number {
  const field = block.subarray(offset, offset + length);
  // GNU base-256 for values that do not fit in octal (large sizes, big uids).
  if (field[0]! & 0x80) {
    let value = field[0]! & 0x7f;
    for (let i = 1; i < length; i++) value = value * 256 + field[i]!;
    return value;
  }
  const text = readString(block, offset, length).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function checksumOk(block: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  return sum === readNumber(block, 148, 8);
}

/** PAX records: "LEN key=value\n", LEN counting the whole record. */
function parsePax(data: Buffer): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    if (space === -1) break;
    const length = parseInt(data.subarray(offset, space).toString('ascii'), 10);
    if (!(length > 0)) break;
    const record = data.subarray(space + 1, offset + length - 1);
    const equals = record.indexOf(0x3d);
    if (equals !== -1) records.set(record.subarray(0, equals).toString('utf8'), Buffer.from(record.subarray(equals + 1)));
    offset += length;
  }
  return records;
}

/**
 * Numbers that are not (an octal field of garbage, a PAX "uid=x" or "size=-1") are refused here: they would
 * otherwise reach chown() as NaN, or desynchronise the stream with a negative size.
 */
function checkNumbers(header: TarHeader): void {
  const limits = { uid: 2 ** 32 - 1, gid: 2 ** 32 - 1, size: Number.MAX_SAFE_INTEGER, devmajor: 2 ** 32 - 1, devminor: 2 ** 32 - 1 } as const;
  for (const [field, max] of Object.entries(limits) as [keyof typeof limits, number][]) {
    const value = header[field];
    if (!Number.isSafeInteger(value) || value < 0 || value > max) {
      throw new RuntimeError('invalid-config', `read tar: entry ${JSON.stringify(header.name)}: ${field} ${value} is not a number from 0 to ${max}`);
    }
  }
  if (!Number.isSafeInteger(header.mtime)) throw new RuntimeError('invalid-config', `read tar: entry ${JSON.stringify(header.name)}: mtime ${header.mtime} is not a time`);
}

/** A PAX header or a GNU long name larger than this is refused before it is read (Go's archive/tar: 1 MiB). */
const MAX_SPECIAL_SIZE = 1024 * 1024;

async function readBody(reader: ByteReader, size: number): Promise<Buffer> {
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_SPECIAL_SIZE) {
    throw new RuntimeError('invalid-config', `read tar: an extended header of ${size} bytes (not a number from 0 to ${MAX_SPECIAL_SIZE})`);
  }
  const data = await reader.read(size);
  if (data.length < size) throw truncated();
  await reader.skip(padding(size));
  return data;
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

export async function* readTar(source: AsyncIterable<Buffer>): AsyncGenerator<TarEntry> {
  const reader = new ByteReader(source);
  let globalPax = new Map<string, Buffer>();
  let pax = new Map<string, Buffer>();
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const block = await reader.read(BLOCK);
    if (block.length === 0) return;
    if (block.length < BLOCK) throw truncated();
    if (block.every((byte) => byte === 0)) return;
    if (!checksumOk(block)) throw new RuntimeError('invalid-config', 'read tar: bad header checksum (not a tar archive?)');
    const typeflag = String.fromCharCode(block[156]!);
    const size = readNumber(block, 124, 12);
    if (typeflag === 'x' || typeflag === 'g') {
      const records = parsePax(await readBody(reader, size));
      if (typeflag === 'g') globalPax = new Map([...globalPax, ...records]);
      else pax = records;
      continue;
    }
    if (typeflag === 'L' || typeflag === 'K') {
      const text = readString(await readBody(reader, size), 0, size);
      if (typeflag === 'L') longName = text;
      else longLink = text;
      continue;
    }
    const records = new Map([...globalPax, ...pax]);
    const magic = block.subarray(257, 263).toString('latin1');
    const prefix = magic.startsWith('ustar') ? readString(block, 345, 155) : '';
    let name = readString(block, 0, 100);
    if (prefix) name = `${prefix}/${name}`;
    const xattrs = new Map<string, Buffer>();
    for (const [key, value] of records) {
      if (key.startsWith('SCHILY.xattr.')) xattrs.set(key.slice('SCHILY.xattr.'.length), value);
    }
    const paxText = (key: string) => records.get(key)?.toString('utf8');
    const paxNumber = (key: string, fallback: number) => {
      const text = paxText(key);
      return text === undefined ? fallback : Number(text);
    };
    const type = TYPES[typeflag];
    const header: TarHeader = {
      name: paxText('path') ?? longName ?? name,
      type: type ?? 'file',
      mode: readNumber(block, 100, 8) & 0o7777,
      uid: paxNumber('uid', readNumber(block, 108, 8)),
      gid: paxNumber('gid', readNumber(block, 116, 8)),
      size: paxNumber('size', size),
      mtime: Math.floor(paxNumber('mtime', readNumber(block, 136, 12))),
      linkname: paxText('linkpath') ?? longLink ?? readString(block, 157, 100),
      devmajor: readNumber(block, 329, 8),
      devminor: readNumber(block, 337, 8),
      xattrs,
    };
    pax = new Map();
    longName = undefined;
    longLink = undefined;
    checkNumbers(header);
    if (type === undefined) {
      throw new RuntimeError('unsupported', `read tar: entry ${header.name} has type ${JSON.stringify(typeflag)}, which is not supported`);
    }
    // Only regular files carry data; as Go's archive/tar, the size of any other type is ignored.
    const bodySize = header.type === 'file' ? header.size : 0;
    const body = reader.stream(bodySize);
    yield { header, body };
    // Whatever the consumer left unread is skipped (a generator that was never started reads it all).
    for await (const _ of body);
    await reader.skip(padding(bodySize));
  }
}

// --- writing --------------------------------------------------------------------------------------------

export interface TarWriteEntry {
  name: string;
  type: TarEntryType;
  mode: number;
  uid?: number;
  gid?: number;
  size?: number;
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Map<string, Buffer>;
}

const TYPEFLAGS: Record<TarEntryType, string> = {
  file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', directory: '5', fifo: '6',
};

function writeString(block: Buffer, offset: number, length: number, value: string): void {
  block.write(value, offset, length, 'utf8');
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(value.toString(8).padStart(length - 1, '0') + '\0', offset, length, 'ascii');
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length = String(length).length + body.length;
  return Buffer.concat([Buffer.from(String(length)), body]);
}

function headerBlock(entry: TarWriteEntry, name: string, typeflag: string, size: number, linkname: string): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeString(block, 0, 100, name);
  writeOctal(block, 100, 8, entry.mode & 0o7777);
  writeOctal(block, 108, 8, Math.min(entry.uid ?? 0, 0o7777777));
  writeOctal(block, 116, 8, Math.min(entry.gid ?? 0, 0o7777777));
  writeOctal(block, 124, 12, size);
  writeOctal(block, 136, 12, Math.max(0, Math.floor(entry.mtime ?? 0)));
  block.write('        ', 148, 8, 'ascii');
  block.write(typeflag, 156, 1, 'ascii');
  writeString(block, 157, 100, linkname);
  block.write('ustar\x0000', 257, 8, 'latin1');
  writeOctal(block, 329, 8, entry.devmajor ?? 0);
  writeOctal(block, 337, 8, entry.devminor ?? 0);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i]!;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return block;
}

/** The header blocks of one entry (a PAX header first when a name, link name, id or xattr needs one). */
export function tarHeader(entry: TarWriteEntry): Buffer {
  const size = entry.type === 'file' ? (entry.size ?? 0) : 0;
  const linkname = entry.linkname ?? '';
  const records: Buffer[] = [];
  const fits = (text: string) => Buffer.byteLength(text) < 100;
  if (!fits(entry.name)) records.push(paxRecord('path', Buffer.from(entry.name)));
  if (!fits(linkname)) records.push(paxRecord('linkpath', Buffer.from(linkname)));
  if ((entry.uid ?? 0) > 0o7777777) records.push(paxRecord('uid', Buffer.from(String(entry.uid))));
  if ((entry.gid ?? 0) > 0o7777777) records.push(paxRecord('gid', Buffer.from(String(entry.gid))));
  if (size > 0o77777777777) records.push(paxRecord('size', Buffer.from(String(size))));
  for (const [key, value] of entry.xattrs ?? []) records.push(paxRecord(`SCHILY.xattr.${key}`, value));
  const parts: Buffer[] = [];
  if (records.length > 0) {
    const data = Buffer.concat(records);
    parts.push(headerBlock({ ...entry, mode: 0o644 }, 'PaxHeader', 'x', data.length, ''), data, Buffer.alloc(padding(data.length)));
  }
  parts.push(headerBlock(entry, Buffer.from(entry.name).subarray(0, 99).toString(), TYPEFLAGS[entry.type], Math.min(size, 0o77777777777), Buffer.from(linkname).subarray(0, 99).toString()));
  return Buffer.concat(parts);
}

export function tarPadding(size: number): Buffer {
  return Buffer.alloc(padding(size));
}

/** Two zero blocks end an archive. */
export const TAR_END = Buffer.alloc(BLOCK * 2);
