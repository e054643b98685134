// Signal names as kill(1) and runc take them: "TERM", "SIGTERM", "sigterm" or a number.

import { constants as osConstants } from 'node:os';
import { RuntimeError } from '../errors.js';

const SIGNALS = osConstants.signals as Record<string, number>;

export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const number = Number(text);
    if (number >= 1 && number <= 64) return number;
    throw new RuntimeError('usage', `signal ${text} is out of range (1 to 64)`);
  }
  const upper = text.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name);
  // Linux's SIGRTMIN as the C library presents it (glibc and musl reserve 32 and 33).
  if (rt) return 34 + Number(rt[1] ?? 0);
  const number = SIGNALS[name];
  if (number === undefined) throw new RuntimeError('usage', `unknown signal ${text === '' ? '""' : text}`, { hint: 'a name such as TERM or SIGKILL, or a number' });
  return number;
}
