import { toMicros } from '../../core/prices.js';
import { InvalidInput, isFluxError } from '../../core/errors.js';
import type { QuotaAdmin } from '../../core/quotas/quota-admin.js';
import type { QuotaTarget } from '../../core/quotas/types.js';

/** Who the audit stream names for changes made on the admin page. */
export const ADMIN_WEB_ACTOR = 'admin-web';

/** What happened to one form submission: shown at the top of the page. */
export interface ActionOutcome {
  ok: boolean;
  message: string;
}

/** The page's quota target (`kind`, `key`) from a query string or a form; undefined when no key is given yet. */
export function formTarget(form: URLSearchParams): QuotaTarget | undefined {
  const key = form.get('key')?.trim();
  if (!key) return undefined;
  return { kind: form.get('kind') === 'guild' ? 'guild' : 'user', key };
}

/**
 * Runs one change from the admin page through the same QuotaAdmin service as `/flux-admin` and `fluxbot quota`
 * (audited as `admin-web`). Bad input (a limit out of range, a grant past QUOTA_MAX_GRANT, a ban of a server)
 * comes back as a message, not an error page; anything else (Redis away) throws.
 */
export async function runAdminAction(admin: QuotaAdmin, form: URLSearchParams): Promise<ActionOutcome> {
  try {
    const target = formTarget(form);
    if (!target) throw new InvalidInput('give a user or server key, e.g. discord:<server id>:<user id>', 'key');
    const name = `${target.kind} ${target.key}`;
    switch (form.get('action')) {
      case 'set': {
        const daily = count(form, 'daily');
        const concurrent = count(form, 'concurrent');
        if (daily === undefined && concurrent === undefined) throw new InvalidInput('give a daily or a concurrent limit (-1 restores the default)', 'daily');
        await admin.setLimits(ADMIN_WEB_ACTOR, target, {
          ...(daily === undefined ? {} : { daily: daily < 0 ? null : daily }),
          ...(concurrent === undefined ? {} : { concurrent: concurrent < 0 ? null : concurrent }),
        });
        return { ok: true, message: `Limits of ${name} changed.` };
      }
      case 'reset':
        await admin.resetToday(ADMIN_WEB_ACTOR, target);
        return { ok: true, message: `Today’s usage of ${name} is reset.` };
      case 'grant': {
        const amount = count(form, 'amount');
        if (amount === undefined) throw new InvalidInput('amount is required', 'amount');
        const balance = await admin.grant(ADMIN_WEB_ACTOR, target, amount);
        return { ok: true, message: `Granted ${amount} to ${name}; the grant balance is now ${balance}.` };
      }
      case 'ban':
        if (target.kind !== 'user') throw new InvalidInput('only a user can be banned', 'kind');
        await admin.ban(ADMIN_WEB_ACTOR, target.key, form.get('reason')?.trim() || undefined);
        return { ok: true, message: `${name} is banned.` };
      case 'budget': {
        if (target.kind !== 'guild') throw new InvalidInput('budgets belong to a server or workspace', 'kind');
        const monthly = dollars(form, 'monthly');
        const personDaily = dollars(form, 'person_daily');
        if (monthly === undefined && personDaily === undefined) throw new InvalidInput('give a monthly or a per-person daily budget in US dollars (-1 restores the default)', 'monthly');
        await admin.setBudget(ADMIN_WEB_ACTOR, target.key, {
          ...(monthly === undefined ? {} : { monthly: monthly < 0 ? null : toMicros(monthly) }),
          ...(personDaily === undefined ? {} : { personDaily: personDaily < 0 ? null : toMicros(personDaily) }),
        });
        return { ok: true, message: `Budgets of ${name} changed.` };
      }
      case 'unban':
        if (target.kind !== 'user') throw new InvalidInput('only a user can be unbanned', 'kind');
        return { ok: true, message: (await admin.unban(ADMIN_WEB_ACTOR, target.key)) ? `${name} is no longer banned.` : `${name} was not banned.` };
      default:
        throw new InvalidInput('unknown action', 'action');
    }
  } catch (err) {
    if (isFluxError(err) && err.code === 'invalid_input') return { ok: false, message: `Not changed: ${err.userMessage}` };
    throw err;
  }
}

/** An optional amount of US dollars (`12.50`, or -1 for the default); an empty field is absent. */
function dollars(form: URLSearchParams, field: string): number | undefined {
  const raw = form.get(field)?.trim();
  if (!raw) return undefined;
  if (!/^(-1|\d{1,10}(\.\d{1,6})?)$/.test(raw)) throw new InvalidInput(`${field} must be US dollars such as 25 or 12.50 (or -1 for the default)`, field);
  return Number(raw);
}

/** An optional whole number field; an empty field is absent. */
function count(form: URLSearchParams, field: string): number | undefined {
  const raw = form.get(field)?.trim();
  if (!raw) return undefined;
  if (!/^-?\d+$/.test(raw)) throw new InvalidInput(`${field} must be a whole number`, field);
  return Number(raw);
}
