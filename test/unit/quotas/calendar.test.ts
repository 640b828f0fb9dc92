import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../../../src/core/errors.js';
import { ZonedCalendar } from '../../../src/core/quotas/calendar.js';

describe('ZonedCalendar', () => {
  it('names the day in the zone, not in UTC', () => {
    const instant = Date.UTC(2026, 10, 21, 3, 0); // 03:00 UTC on the 21st
    expect(new ZonedCalendar('UTC').dayOf(instant)).toBe('2026-11-21');
    expect(new ZonedCalendar('America/New_York').dayOf(instant)).toBe('2026-11-20');
    expect(new ZonedCalendar('Asia/Kolkata').dayOf(Date.UTC(2026, 10, 20, 18, 30))).toBe('2026-11-21');
    expect(new ZonedCalendar('Asia/Kolkata').dayOf(Date.UTC(2026, 10, 20, 18, 29, 59, 999))).toBe('2026-11-20');
  });

  it('finds the next local midnight', () => {
    expect(new ZonedCalendar('UTC').nextMidnight(Date.UTC(2026, 10, 21, 12))).toBe(Date.UTC(2026, 10, 22));
    expect(new ZonedCalendar('Asia/Kolkata').nextMidnight(Date.UTC(2026, 10, 21, 12))).toBe(Date.UTC(2026, 10, 21, 18, 30));
    expect(new ZonedCalendar('America/New_York').nextMidnight(Date.UTC(2026, 10, 21, 12))).toBe(Date.UTC(2026, 10, 22, 5));
  });

  it('treats midnight itself as the start of the new day', () => {
    const cal = new ZonedCalendar('America/New_York');
    const midnight = Date.UTC(2026, 10, 22, 5);
    expect(cal.nextMidnight(midnight - 1)).toBe(midnight);
    expect(cal.dayOf(midnight)).toBe('2026-11-22');
    expect(cal.nextMidnight(midnight)).toBe(Date.UTC(2026, 10, 23, 5));
  });

  it('handles 23- and 25-hour days at daylight saving changes', () => {
    const ny = new ZonedCalendar('America/New_York');
    expect(ny.nextMidnight(Date.UTC(2026, 2, 8, 12))).toBe(Date.UTC(2026, 2, 9, 4)); // spring forward
    expect(ny.nextMidnight(Date.UTC(2026, 10, 1, 12))).toBe(Date.UTC(2026, 10, 2, 5)); // fall back
  });

  it('starts the day at the first existing instant when daylight saving skips midnight', () => {
    // Chile moves its clocks from 00:00 to 01:00 on 6 September 2026: that day begins at 01:00 local (04:00 UTC).
    const santiago = new ZonedCalendar('America/Santiago');
    const start = santiago.nextMidnight(Date.UTC(2026, 8, 5, 16));
    expect(start).toBe(Date.UTC(2026, 8, 6, 4));
    expect(santiago.dayOf(start - 1)).toBe('2026-09-05');
    expect(santiago.dayOf(start)).toBe('2026-09-06');
  });

  it('survives a skipped calendar day', () => {
    // Samoa skipped 30 December 2011 when it crossed the date line.
    const apia = new ZonedCalendar('Pacific/Apia');
    const next = apia.nextMidnight(Date.UTC(2011, 11, 30, 0));
    expect(next).toBe(Date.UTC(2011, 11, 30, 10));
    expect(apia.dayOf(next)).toBe('2011-12-31');
  });

  it('gives the right answer again after the day changes', () => {
    const cal = new ZonedCalendar('UTC');
    expect(cal.nextMidnight(Date.UTC(2026, 10, 21, 1))).toBe(Date.UTC(2026, 10, 22));
    expect(cal.nextMidnight(Date.UTC(2026, 10, 23, 1))).toBe(Date.UTC(2026, 10, 24));
    expect(cal.nextMidnight(Date.UTC(2026, 10, 21, 23))).toBe(Date.UTC(2026, 10, 22));
  });

  it('answers from the remembered day exactly as a fresh calendar does, forwards, backwards and across DST', () => {
    // Instants over three days around New York's fall-back change, visited in a shuffled order (a clock that jumps
    // both ways), each checked against a calendar that has remembered nothing.
    const ny = new ZonedCalendar('America/New_York');
    const instants = Array.from({ length: 200 }, (_, i) => Date.UTC(2026, 9, 31, 0) + ((i * 7919) % 200) * 1_296_000);
    for (const at of [...instants, Date.UTC(2026, 10, 1, 4) - 1, Date.UTC(2026, 10, 1, 4), Date.UTC(2026, 10, 2, 5) - 1, Date.UTC(2026, 10, 2, 5)]) {
      const fresh = new ZonedCalendar('America/New_York');
      expect([ny.nextMidnight(at), ny.dayOf(at)], new Date(at).toISOString()).toEqual([fresh.nextMidnight(at), new ZonedCalendar('America/New_York').dayOf(at)]);
    }
  });

  it('rejects an unknown zone as invalid input', () => {
    expect(() => new ZonedCalendar('Mars/Olympus_Mons')).toThrow(InvalidInput);
  });
});
