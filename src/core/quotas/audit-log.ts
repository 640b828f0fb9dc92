import type { ChainableCommander } from 'ioredis';
import type { QuotaContext } from './context.js';

/** Entries kept in the audit stream; older ones are trimmed (approximately, which is cheap). */
const AUDIT_MAX_LEN = 10_000;

export type AuditAction = 'set_limits' | 'set_budget' | 'reset_today' | 'grant' | 'ban' | 'unban';

/** One admin action, newest first when read. */
export interface AuditEntry {
  /** Stream entry id. */
  id: string;
  /** Platform-prefixed id of the admin. */
  actor: string;
  action: string;
  /** `user:<key>` or `guild:<key>`. */
  target: string;
  details: Record<string, unknown>;
  /** Epoch ms. */
  at: number;
}

type NewEntry = { actor: string; action: AuditAction; target: string; details: Record<string, unknown>; at: number };

/** Adds the audit XADD to a transaction, so the change and its record are written together or not at all. */
export function appendAudit(ctx: QuotaContext, multi: ChainableCommander, entry: NewEntry): ChainableCommander {
  return multi.xadd(ctx.keys.audit, ...auditArgs(entry));
}

/** The XADD arguments after the stream key, for scripts that write a change and its audit entry together. */
export function auditArgs(entry: NewEntry): [string, string, number, string, ...Array<string | number>] {
  return [
    'MAXLEN',
    '~',
    AUDIT_MAX_LEN,
    '*',
    'actor',
    entry.actor,
    'action',
    entry.action,
    'target',
    entry.target,
    'details',
    JSON.stringify(entry.details),
    'at',
    entry.at,
  ];
}

/** The newest `limit` audit entries, newest first. */
export async function readAudit(ctx: QuotaContext, limit: number): Promise<AuditEntry[]> {
  const entries = await ctx.redis.xrevrange(ctx.keys.audit, '+', '-', 'COUNT', limit);
  return entries.map(([id, fields]) => {
    const f: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
    return {
      id,
      actor: f.actor ?? '',
      action: f.action ?? '',
      target: f.target ?? '',
      details: parseDetails(f.details),
      at: Number(f.at ?? 0),
    };
  });
}

function parseDetails(raw: string | undefined): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(raw ?? '{}');
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
