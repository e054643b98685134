// config.json is JSON, and JSON.parse turns every number into a double: a seccomp argument such as
// 18446744073709551615 (2^64-1) would arrive as 2^64 and compare wrongly. runc's Go decoder reads uint64s
// exactly; so does this. Only when the text holds an integer of 16 digits or more (never in podman's or
// docker's profiles, so the usual path is one JSON.parse): such integers under linux.seccomp's syscall args
// are kept as their decimal digits; everywhere else they become numbers, as before.

const MARK = '\u0000int:';

export function parseConfigJson(text: string): unknown {
  if (!/\d{16}/.test(text)) return JSON.parse(text);
  // Strings are matched first, so digits inside them are left alone.
  const marked = text.replace(/"(?:[^"\\]|\\.)*"|-?\d{16,}(?![.eE\d])/g, (token) => (token.startsWith('"') ? token : `"\\u0000int:${token}"`));
  const raw = JSON.parse(marked) as unknown;
  const seccomp = (raw as { linux?: { seccomp?: { syscalls?: unknown } } } | null)?.linux?.seccomp;
  if (seccomp && Array.isArray(seccomp.syscalls)) {
    for (const syscall of seccomp.syscalls) {
      for (const arg of Array.isArray(syscall?.args) ? syscall.args : []) {
        for (const key of ['value', 'valueTwo']) {
          if (typeof arg?.[key] === 'string' && arg[key].startsWith(MARK)) arg[key] = arg[key].slice(MARK.length);
        }
      }
    }
  }
  return unmark(raw);
}

function unmark(value: unknown): unknown {
  if (typeof value === 'string') return value.startsWith(MARK) ? Number(value.slice(MARK.length)) : value;
  if (Array.isArray(value)) return value.map(unmark);
  if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) (value as Record<string, unknown>)[key] = unmark(child);
  }
  return value;
}
