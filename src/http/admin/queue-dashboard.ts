import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';

/** Where bull-board is mounted on HTTP_PORT. */
export const QUEUES_PATH = '/admin/queues';

/** An Express application called as a plain node:http handler; `next` runs when none of its routes matched. */
type ExpressApp = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/**
 * bull-board over the generation queue, as a node:http handler for paths under `/admin/queues` (the caller checks
 * the operator token first). Read-only: retrying, promoting or removing a job here would bypass the quota
 * reservation that `fluxbot jobs retry|cancel` go through, so changes stay with the CLI. Resolves false when the
 * board has no such page.
 */
export function queueDashboard(queues: readonly Queue[]): (req: IncomingMessage, res: ServerResponse, path: string) => Promise<boolean> {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(QUEUES_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: true, displayName: q.name })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'fluxbot queues' } },
  });
  const app = serverAdapter.getRouter() as ExpressApp;
  return (req, res, path) =>
    new Promise<boolean>((resolve, reject) => {
      // The board's routes are relative to where it is mounted, as under Express's own app.use(path, board).
      const query = req.url?.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
      req.url = (path.slice(QUEUES_PATH.length) || '/') + query;
      res.once('finish', () => resolve(true));
      res.once('close', () => resolve(true));
      app(req, res, (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(false)));
    });
}
