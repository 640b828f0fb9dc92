import { readBody } from '../read-body.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { isFluxError } from '../../core/errors.js';
import type { QuotaAdmin } from '../../core/quotas/quota-admin.js';
import type { HttpRoute } from '../server.js';
import { formTarget, runAdminAction, type ActionOutcome } from './admin-actions.js';
import { renderAdminPage } from './admin-html.js';
import { hasAdminToken, refuse, sameOrigin } from './auth.js';
import { QUEUES_PATH, queueDashboard } from './queue-dashboard.js';

export interface AdminRoutesOptions {
  /** ADMIN_TOKEN. */
  token: string;
  /** The same quota service `/flux-admin` and `fluxbot quota` use. */
  admin: QuotaAdmin;
  /** The queues bull-board shows. */
  queues: readonly Queue[];
  logger: Logger;
}

const AUDIT_SHOWN = 50;
const MAX_FORM_BYTES = 16 * 1024;

/** The operator pages when ADMIN_TOKEN is set, none otherwise (then `/admin…` is a 404 like any unknown path). */
export function optionalAdminRoutes(options: Omit<AdminRoutesOptions, 'token'> & { token: string | undefined }): HttpRoute[] {
  return options.token ? [adminRoutes({ ...options, token: options.token })] : [];
}

/**
 * The operator pages on HTTP_PORT, behind ADMIN_TOKEN: `/admin` (quotas and the audit stream) and `/admin/queues`
 * (bull-board). Every path under `/admin` answers 401 without the token, so nothing there is reachable unguarded.
 */
export function adminRoutes(options: AdminRoutesOptions): HttpRoute {
  const dashboard = queueDashboard(options.queues);
  return async (req, res, url) => {
    const path = url.pathname;
    if (path !== '/admin' && !path.startsWith('/admin/')) return false;
    req.on('error', () => undefined);
    if (!hasAdminToken(req, options.token)) {
      req.resume();
      refuse(res);
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD' && !sameOrigin(req)) {
      req.resume();
      send(res, 403, 'text/plain; charset=utf-8', 'cross-site request refused');
      return true;
    }
    if (path === QUEUES_PATH || path.startsWith(`${QUEUES_PATH}/`)) return dashboard(req, res, path);
    if (path === '/admin' || path === '/admin/') {
      await adminPage(options, req, res, url);
      return true;
    }
    return false;
  };
}

/** GET shows a target's quota and the audit stream; POST changes the target first and shows the outcome. */
async function adminPage(options: AdminRoutesOptions, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  let form = url.searchParams;
  let outcome: ActionOutcome | undefined;
  if (req.method === 'POST') {
    const body = await readForm(req);
    if (body === undefined) return send(res, 413, 'text/plain; charset=utf-8', `form larger than ${MAX_FORM_BYTES} bytes`);
    form = body;
    outcome = await runAdminAction(options.admin, form);
    options.logger.info({ action: form.get('action'), target: form.get('key'), ok: outcome.ok }, 'admin page change');
  } else if (req.method !== 'GET' && req.method !== 'HEAD') {
    req.resume();
    res.setHeader('allow', 'GET, POST');
    return send(res, 405, 'text/plain; charset=utf-8', 'use GET or POST');
  }
  const target = formTarget(form);
  let snapshot;
  let budget;
  try {
    snapshot = target ? await options.admin.show(target) : undefined;
    budget = target?.kind === 'guild' ? await options.admin.budget(target.key) : undefined;
  } catch (err) {
    // A malformed key is the operator's typo: say so on the page instead of an error status.
    if (!isFluxError(err) || err.code !== 'invalid_input') throw err;
    outcome ??= { ok: false, message: `Not shown: ${err.userMessage}` };
  }
  const html = renderAdminPage({ target, snapshot, budget, outcome, audit: await options.admin.audit(AUDIT_SHOWN) });
  send(res, outcome?.ok === false ? 400 : 200, 'text/html; charset=utf-8', html);
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    // The page has no script and is never framed: a strict policy costs nothing.
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  });
  res.end(body);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  const body = await readBody(req, MAX_FORM_BYTES);
  return body === undefined ? undefined : new URLSearchParams(body.toString('utf8'));
}
