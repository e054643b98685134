import { describe, expect, it } from 'vitest';
import { isoTimestamp } from '../../src/host/utc-timestamp.js';

describe('isoTimestamp', () => {
  it("is toISOString's text, for every kind of instant", () => {
    const instants = [
      0, -1, 999, 1000, Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(2000, 0, 1), Date.UTC(1900, 11, 31, 1, 2, 3, 4),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(10000, 0, 1), Date.UTC(-1, 0, 1), Date.UTC(0, 0, 1) - 1e15, 8.64e15,
    ];
    // And a spread of ordinary ones: every field width, leap years, month ends.
    for (let index = 0; index < 2000; index++) instants.push(Math.floor(Math.random() * Date.UTC(2200, 0, 1)));
    for (const ms of instants) expect(isoTimestamp(ms), String(ms)).toBe(new Date(ms).toISOString());
    expect(isoTimestamp()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('throws on an invalid date, as toISOString does', () => {
    expect(() => isoTimestamp(Number.NaN)).toThrow(RangeError);
  });
});
