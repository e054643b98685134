// Date.prototype.toISOString's text, made from the getUTC* fields. V8's own toISOString sets up ICU's time
// zone on its first call in a process (it reads /etc/localtime and realpath()s it: ~1 ms here), although
// the text it returns is UTC and never depends on the zone; every create and run stamps its state once.

const pad = (value: number, width: number) => String(value).padStart(width, '0');

/** Exactly `new Date(ms).toISOString()` ("2026-12-02T02:53:28.497Z"), without the time zone set-up. */
export function isoTimestamp(ms: number = Date.now()): string {
  const date = new Date(ms);
  const year = date.getUTCFullYear();
  // Years toISOString writes in its six-digit form, and invalid dates (which it throws on): left to it.
  if (!(year >= 0 && year <= 9999)) return date.toISOString();
  return `${pad(year, 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}T${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}.${pad(date.getUTCMilliseconds(), 3)}Z`;
}
