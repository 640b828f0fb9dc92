import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import { InvalidInput } from '../core/errors.js';
import type { QuotaTarget } from '../core/quotas/types.js';
import { openCore } from './open-core.js';

export const QUOTA_USAGE = `Usage: fluxbot quota <show|set|reset|grant|ban|unban|audit> (--user KEY | --guild KEY) [options]

  KEY is platform-prefixed: --user discord:<server>:<user> or slack:<team>:<user>; --guild discord:<server> or slack:<team>
  show                              usage, limits, grants, in-flight, ban
  set --daily N --concurrent N      override limits (-1 restores the default)
  reset                             reset today's usage
  grant --amount N                  extra images
  ban --user KEY [--reason TEXT]    unban --user KEY
  audit [--limit N]                 newest admin changes`;

/** `fluxbot quota …`: the same admin quota service as /flux-admin, for operators. Actor: `cli:<os user>`. */
export async function quotaCommand(argv: string[], config: Config, out: (line: string) => void): Promise<number> {
  const [sub, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      user: { type: 'string' },
      guild: { type: 'string' },
      daily: { type: 'string' },
      concurrent: { type: 'string' },
      amount: { type: 'string' },
      reason: { type: 'string' },
      limit: { type: 'string' },
    },
    strict: true,
  });
  const int = (v: string | undefined, field: string) => {
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v)) throw new InvalidInput(`--${field} must be a whole number`, field);
    return Number(v);
  };
  const target = (): QuotaTarget => {
    if (values.user && values.guild) throw new InvalidInput('give --user or --guild, not both', 'user');
    if (values.user) return { kind: 'user', key: values.user };
    if (values.guild) return { kind: 'guild', key: values.guild };
    throw new InvalidInput('give --user KEY or --guild KEY', 'user');
  };
  const actor = `cli:${safeUser()}`;
  const core = await openCore(config);
  try {
    switch (sub) {
      case 'show':
        out(JSON.stringify(await core.admin.show(target())));
        return 0;
      case 'set': {
        const daily = int(values.daily, 'daily');
        const concurrent = int(values.concurrent, 'concurrent');
        if (daily === undefined && concurrent === undefined) throw new InvalidInput('give --daily, --concurrent or both', 'daily');
        await core.admin.setLimits(actor, target(), {
          ...(daily === undefined ? {} : { daily: daily < 0 ? null : daily }),
          ...(concurrent === undefined ? {} : { concurrent: concurrent < 0 ? null : concurrent }),
        });
        out(JSON.stringify(await core.admin.show(target())));
        return 0;
      }
      case 'reset':
        await core.admin.resetToday(actor, target());
        out(JSON.stringify(await core.admin.show(target())));
        return 0;
      case 'grant': {
        const amount = int(values.amount, 'amount');
        if (amount === undefined) throw new InvalidInput('--amount N is required', 'amount');
        out(JSON.stringify({ grantBalance: await core.admin.grant(actor, target(), amount) }));
        return 0;
      }
      case 'ban':
      case 'unban': {
        const t = target();
        if (t.kind !== 'user') throw new InvalidInput(`${sub} takes --user KEY`, 'user');
        if (sub === 'ban') await core.admin.ban(actor, t.key, values.reason);
        else out(JSON.stringify({ wasBanned: await core.admin.unban(actor, t.key) }));
        if (sub === 'ban') out(JSON.stringify({ banned: t.key }));
        return 0;
      }
      case 'audit':
        for (const entry of await core.admin.audit(int(values.limit, 'limit') ?? 20)) out(JSON.stringify(entry));
        return 0;
      default:
        out(QUOTA_USAGE);
        return 2;
    }
  } finally {
    await core.close(0);
  }
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
