import type { AuditEntry } from '../../core/quotas/audit-log.js';
import { formatUsd } from '../../core/prices.js';
import type { BudgetSnapshot, QuotaSnapshot } from '../../core/quotas/quota-admin.js';
import type { QuotaTarget } from '../../core/quotas/types.js';
import type { ActionOutcome } from './admin-actions.js';
import { QUEUES_PATH } from './queue-dashboard.js';

/** What one rendering of `/admin` shows. */
export interface AdminView {
  target?: QuotaTarget | undefined;
  snapshot?: QuotaSnapshot | undefined;
  /** A server's budgets and spending (servers only). */
  budget?: BudgetSnapshot | undefined;
  outcome?: ActionOutcome | undefined;
  audit: readonly AuditEntry[];
}

/** Escapes text for HTML content and attribute values: every value on the page comes from Redis or the request. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}form{margin:.4em 0}.ok{color:#060}.error{color:#b00;font-weight:bold}`;

/**
 * The admin page: pick a user or server, see its quota, change it, and read the audit stream. Plain forms, no
 * script, so the page works under a strict Content-Security-Policy.
 */
export function renderAdminPage(view: AdminView): string {
  const t = view.target;
  const hidden = t ? `<input type="hidden" name="kind" value="${escapeHtml(t.kind)}"><input type="hidden" name="key" value="${escapeHtml(t.key)}">` : '';
  const form = (action: string, fields: string, label: string) =>
    `<form method="post" action="/admin"><input type="hidden" name="action" value="${action}">${hidden}${fields}<button>${label}</button></form>`;
  const parts = [
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>fluxbot admin</title><style>${STYLE}</style></head><body>`,
    `<h1>fluxbot admin</h1><p><a href="${QUEUES_PATH}">Queue dashboard</a></p>`,
    view.outcome ? `<p class="${view.outcome.ok ? 'ok' : 'error'}" role="status">${escapeHtml(view.outcome.message)}</p>` : '',
    `<form method="get" action="/admin"><select name="kind">${option('user', t)}${option('guild', t)}</select>`,
    ` <input name="key" size="40" placeholder="discord:&lt;server id&gt;:&lt;user id&gt; or slack:&lt;team&gt;" value="${escapeHtml(t?.key ?? '')}">`,
    ` <button>Show</button></form>`,
  ];
  if (t && view.snapshot) {
    const s = view.snapshot;
    parts.push(
      `<h2>${escapeHtml(`${t.kind} ${t.key}`)}</h2><table>`,
      row('Day', s.day),
      row('Used today', `${s.usedToday} (from grant: ${s.usedFromGrantToday})`),
      row('Daily limit', `${s.daily.value}${s.daily.overridden ? ' (custom)' : ' (default)'}`),
      row('In progress', `${s.inFlight} of ${s.concurrent.value}${s.concurrent.overridden ? ' (custom)' : ' (default)'}`),
      row('Grant balance', String(s.grantBalance)),
      row('Resets at', new Date(s.resetsAt).toISOString()),
      s.banned ? row('Banned', `by ${s.banned.by}${s.banned.reason ? `: ${s.banned.reason}` : ''}`) : '',
      `</table>`,
      form('set', `daily <input name="daily" size="6"> concurrent <input name="concurrent" size="6"> `, 'Set limits (-1: default)'),
      form('reset', '', 'Reset today’s usage'),
      form('grant', `<input name="amount" size="6" placeholder="amount"> `, 'Grant extra images'),
      t.kind === 'user' ? form('ban', `<input name="reason" size="30" placeholder="reason"> `, 'Ban') + form('unban', '', 'Unban') : '',
    );
  }
  if (t && view.budget) {
    const b = view.budget;
    const source = (e: { overridden: boolean }) => (e.overridden ? ' (custom)' : ' (default)');
    parts.push(
      `<h3>Budget</h3><table>`,
      row(`Spent in ${b.month}`, formatUsd(b.spentThisMonth)),
      row('Monthly budget', b.monthly ? `${formatUsd(b.monthly.value)}${source(b.monthly)}` : 'none'),
      row('Per-person daily budget', b.personDaily ? `${formatUsd(b.personDaily.value)}${source(b.personDaily)}` : 'none'),
      b.operatorMonthly === undefined ? '' : row('Every server (operator)', `${formatUsd(b.operatorSpent)} of ${formatUsd(b.operatorMonthly)}`),
      row('Resets at', new Date(b.monthResetsAt).toISOString()),
      `</table>`,
      form('budget', `monthly $<input name="monthly" size="8"> per person daily $<input name="person_daily" size="8"> `, 'Set budgets (-1: default)'),
    );
  }
  parts.push(`<h2>Audit (newest first)</h2><table><tr><th>when</th><th>actor</th><th>action</th><th>target</th><th>details</th></tr>`);
  for (const e of view.audit) {
    parts.push(`<tr>${[new Date(e.at).toISOString(), e.actor, e.action, e.target, JSON.stringify(e.details)].map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`);
  }
  parts.push(`</table></body></html>`);
  return parts.join('');
}

function option(kind: QuotaTarget['kind'], t: QuotaTarget | undefined): string {
  return `<option value="${kind}"${t?.kind === kind ? ' selected' : ''}>${kind === 'user' ? 'user' : 'server / workspace'}</option>`;
}

function row(name: string, value: string): string {
  return `<tr><th>${escapeHtml(name)}</th><td>${escapeHtml(value)}</td></tr>`;
}
