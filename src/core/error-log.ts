import type { Logger } from 'pino';

/** How long the same error is counted instead of logged again. */
const QUIET_MS = 60_000;

/**
 * An 'error' listener for a BullMQ or ioredis object that writes one JSON log line per kind of error and minute.
 * During a Redis outage every reconnect attempt emits the same ECONNREFUSED; logging each would bury the log, and an
 * object without any listener makes BullMQ print the raw stack with console.error, between the JSON lines.
 * A repeat after the quiet minute carries how many were left out.
 */
export function errorLog(logger: Logger, msg: string, quietMs = QUIET_MS): (err: Error) => void {
  const last = new Map<string, { at: number; skipped: number }>();
  return (err) => {
    const kind = `${(err as { code?: unknown }).code ?? ''}:${err.message}`;
    const now = Date.now();
    const seen = last.get(kind);
    if (seen && now - seen.at < quietMs) {
      seen.skipped += 1;
      return;
    }
    if (last.size > 100) last.clear(); // many distinct messages: keep the map small rather than exact
    last.set(kind, { at: now, skipped: 0 });
    logger.error({ err, ...(seen?.skipped ? { repeated: seen.skipped } : {}) }, msg);
  };
}
