import { InvalidInput } from '../errors.js';

/** Longer than any calendar day, DST and date-line jumps included: the search for the next midnight ends by then. */
const SEARCH_SPAN_MS = 50 * 3600_000;

/**
 * Calendar days in one IANA time zone, computed with Intl so DST and half-hour offsets need no table of our own.
 * Quota days are the application's days, not the server's: "today" and "resets at" follow the configured zone.
 */
export class ZonedCalendar {
  readonly timeZone: string;
  private readonly format: Intl.DateTimeFormat;
  /**
   * The day last looked up: every instant from `from` up to (not including) `resetAt` falls on `day`, since dates
   * only move forward. Most calls land there, and then neither formatToParts (tens of µs each) nor the midnight
   * search runs: admission asks for both on every command.
   */
  private span: { day: string; from: number; resetAt: number } | undefined;
  /** The month last looked up and when it ends (monthly budgets ask on every admission). */
  private monthSpan: { month: string; resetAt: number } | undefined;

  constructor(timeZone: string) {
    try {
      this.format = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    } catch (err) {
      throw new InvalidInput(`unknown time zone: ${timeZone}`, 'timeZone', { cause: err });
    }
    this.timeZone = timeZone;
  }

  /** The calendar date at `epochMs` in this zone, as `YYYY-MM-DD`. */
  dayOf(epochMs: number): string {
    const span = this.span;
    if (span && epochMs >= span.from && epochMs < span.resetAt) return span.day;
    return this.formatDay(epochMs);
  }

  private formatDay(epochMs: number): string {
    let year = '';
    let month = '';
    let day = '';
    for (const part of this.format.formatToParts(epochMs)) {
      if (part.type === 'year') year = part.value.padStart(4, '0');
      else if (part.type === 'month') month = part.value;
      else if (part.type === 'day') day = part.value;
    }
    return `${year}-${month}-${day}`;
  }

  /**
   * The first instant of the next calendar month in this zone after `epochMs`: when monthly budgets reset. Starts two
   * days before the 1st (UTC), which is still this month in every zone, and steps local midnights from there.
   */
  nextMonthStart(epochMs: number): number {
    const month = this.dayOf(epochMs).slice(0, 7);
    if (this.monthSpan?.month === month && epochMs < this.monthSpan.resetAt) return this.monthSpan.resetAt;
    const [year, monthIndex] = month.split('-').map(Number) as [number, number];
    const saved = this.span;
    let t = Math.max(epochMs, Date.UTC(year, monthIndex, 1) - 2 * 86_400_000);
    for (let i = 0; i < 40 && this.formatDay(t).slice(0, 7) === month; i++) {
      this.span = undefined;
      t = this.nextMidnight(t);
    }
    // The midnight search caches the day it looked at; today's cache is what admissions need.
    this.span = saved;
    this.monthSpan = { month, resetAt: t };
    return t;
  }

  /**
   * The first instant after `epochMs` that falls on a later date in this zone: the next local midnight, or the
   * first existing instant of the next day where a DST change skips midnight.
   */
  nextMidnight(epochMs: number): number {
    const span = this.span;
    if (span && epochMs >= span.from && epochMs < span.resetAt) return span.resetAt;
    const today = this.formatDay(epochMs);
    if (span?.day === today && epochMs < span.resetAt) {
      // Earlier on the known day (a clock set back): the same midnight.
      span.from = epochMs;
      return span.resetAt;
    }
    // Dates only move forward, so "is it still today?" is monotonic in time: binary search to the millisecond.
    let lo = epochMs;
    let hi = epochMs + SEARCH_SPAN_MS;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.formatDay(mid) === today) lo = mid;
      else hi = mid;
    }
    this.span = { day: today, from: epochMs, resetAt: hi };
    return hi;
  }
}
