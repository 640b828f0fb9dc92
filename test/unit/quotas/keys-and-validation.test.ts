import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidInput } from '../../../src/core/errors.js';
import { QuotaKeys, parseSubjectId, subjectId } from '../../../src/core/quotas/keys.js';
import { QuotaAdmin } from '../../../src/core/quotas/quota-admin.js';
import { QuotaStore } from '../../../src/core/quotas/quota-store.js';
import { parseReservation } from '../../../src/core/quotas/reservation.js';

// Never connects: the constructors must reject bad options before touching Redis.
const redis = new Redis({ lazyConnect: true });
afterAll(() => redis.disconnect());

const defaults = { dailyPerUser: 10, concurrentPerUser: 2, dailyPerGuild: 200, concurrentPerGuild: 10 };

describe('quota keys', () => {
  it('puts the hash-tagged prefix first and the kind of key last', () => {
    const keys = new QuotaKeys('{fluxbot}');
    expect(keys.day('user', 'discord:1:2', '2026-11-21')).toBe('{fluxbot}:q:user:discord:1:2:day:2026-11-21');
    expect(keys.inflight('guild', 'slack:T1')).toBe('{fluxbot}:q:guild:slack:T1:inflight');
    expect(keys.audit).toBe('{fluxbot}:audit');
  });

  it('never gives two subjects the same key, though their ids contain colons', () => {
    const keys = new QuotaKeys('{p}');
    const made = [
      keys.inflight('user', 'a:limits'),
      keys.limits('user', 'a'),
      keys.limits('user', 'a:inflight'),
      keys.inflight('user', 'a'),
      keys.inflight('guild', 'a'),
      keys.grant('user', 'a'),
      keys.ban('a'),
      keys.day('user', 'a', '2026-11-21'),
      keys.day('user', 'a:day:2026-11-21', '2026-11-21'),
    ];
    expect(new Set(made).size).toBe(made.length);
  });

  it('round-trips subject ids', () => {
    expect(parseSubjectId(subjectId('user', 'slack:T1:U|2'))).toEqual({ kind: 'user', key: 'slack:T1:U|2' });
    expect(parseSubjectId('channel|x')).toBeUndefined();
    expect(parseSubjectId('user')).toBeUndefined();
  });
});

describe('reservations', () => {
  it('reads the reserved cost', () => {
    const raw = JSON.stringify({ u: 'discord:1:2', g: 'discord:1', d: '2026-11-21', ub: 'daily', gb: 'daily', ug: '0', gg: '0', at: '1', c: 45000 });
    expect(parseReservation(raw)).toMatchObject({ cost: 45000, day: '2026-11-21' });
  });

  it('parses what the admit script stores and rejects anything else', () => {
    const raw = JSON.stringify({ u: 'discord:1:2', g: 'discord:1', d: '2026-11-21', ub: 'grant', gb: 'daily', ug: '0', gg: '1', at: '1795292051000' });
    expect(parseReservation(raw)).toEqual({
      userKey: 'discord:1:2',
      guildKey: 'discord:1',
      day: '2026-11-21',
      userBucket: 'grant',
      guildBucket: 'daily',
      at: 1795292051000,
      cost: 0, // a reservation from before costs were counted reserves nothing
    });
    expect(parseReservation('not json')).toBeUndefined();
    expect(parseReservation(JSON.stringify({ u: 'x', g: 'y', d: 'z', ub: 'free', gb: 'daily', at: 1 }))).toBeUndefined();
  });
});

describe('quota options', () => {
  it('requires a hash tag in the prefix', () => {
    expect(() => new QuotaStore({ redis, defaults, prefix: 'fluxbot' })).toThrow(InvalidInput);
    expect(() => new QuotaAdmin({ redis, defaults, prefix: '{}' })).toThrow(InvalidInput);
    expect(() => new QuotaStore({ redis, defaults, prefix: '{fluxbot}:staging' })).not.toThrow();
  });

  it('rejects negative, fractional and NaN defaults', () => {
    for (const bad of [-1, 1.5, Number.NaN]) {
      const err = (() => {
        try {
          new QuotaStore({ redis, defaults: { ...defaults, concurrentPerGuild: bad } });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(InvalidInput);
      expect((err as InvalidInput).field).toBe('defaults.concurrentPerGuild');
    }
  });

  it('rejects an unknown time zone', () => {
    expect(() => new QuotaAdmin({ redis, defaults, timeZone: 'Nowhere/Special' })).toThrow(InvalidInput);
  });
});
