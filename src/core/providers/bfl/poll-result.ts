import { ContentModerated, GenerationFailed, ProviderTaskFailed, ProviderUnavailable } from '../../errors.js';
import { errorDetail } from '../http.js';

/**
 * Reads one answer of BFL's result endpoint (`GET polling_url` → `{id, status, result, progress, details}`) into
 * "keep polling" or "ready", and turns the terminal failures into the typed errors the queue acts on.
 */
export type BflPollOutcome =
  | { kind: 'pending'; /** 0..1 when BFL reports progress. */ fraction: number | undefined }
  | {
      kind: 'ready';
      /** Signed URL, valid ~10 minutes. */
      sample: string;
      seed: number | undefined;
      /** What the task cost in BFL credits ($0.01 each), when the answer says (FLUX.2 endpoints do). */
      cost: number | undefined;
    };

/**
 * BFL answered "Task not found" for a task id. On a fresh task this means the answer came from a cluster that does
 * not hold it; on resume it means the checkpoint is stale (BFL keeps results for a limited time), so polling it
 * again cannot succeed: the caller should drop the checkpoint and start a new task.
 */
export class BflTaskNotFound extends ProviderUnavailable {
  readonly taskId: string;
  /** The id came from a checkpoint of an earlier attempt. */
  readonly staleCheckpoint: boolean;

  constructor(taskId: string, resumed: boolean) {
    super(
      'bfl',
      resumed
        ? `task ${taskId} not found: the checkpoint is stale (BFL keeps results for a limited time); start a new task`
        : `task ${taskId} not found at its polling URL`,
      404,
    );
    this.taskId = taskId;
    this.staleCheckpoint = resumed;
  }
}

/** Details that point at the request itself (a bad image prompt, an unsupported value): retrying will not help. */
const INPUT_FAULT = /invalid|validation|unsupported|not supported|could not (?:decode|read|load|process)|image prompt|too (?:large|long|big)/i;

export function readBflPoll(body: unknown, task: { id: string; resumed: boolean }): BflPollOutcome {
  if (!body || typeof body !== 'object' || typeof (body as { status?: unknown }).status !== 'string') {
    throw new ProviderUnavailable('bfl', 'unreadable answer from the result endpoint');
  }
  const answer = body as { status: string; result?: unknown; progress?: unknown; details?: unknown; cost?: unknown };
  const detail = detailText(answer.details);
  switch (answer.status) {
    case 'Ready': {
      const result = answer.result as { sample?: unknown; seed?: unknown } | null | undefined;
      if (typeof result?.sample !== 'string' || result.sample.length === 0) {
        throw new ProviderUnavailable('bfl', 'task is Ready but has no sample URL');
      }
      return { kind: 'ready', sample: result.sample, seed: typeof result.seed === 'number' ? result.seed : undefined, cost: readCost(answer.cost) };
    }
    case 'Request Moderated':
    case 'Content Moderated':
      throw new ContentModerated('bfl', detail ? `${answer.status}: ${detail}` : answer.status);
    case 'Error':
    case 'Failed':
      if (detail && INPUT_FAULT.test(detail)) throw new GenerationFailed('bfl', detail);
      // The task is over: polling it again answers the same, so a retry needs a new task. (`Failed` is not in the
      // documented list, but other BFL clients meet it: read as Error rather than polled until the deadline.)
      throw new ProviderTaskFailed('bfl', `task failed${detail ? `: ${detail}` : ''}`);
    case 'Task not found':
      throw new BflTaskNotFound(task.id, task.resumed);
    default:
      // `Pending`, and tolerance for the in-between statuses newer endpoints report (`Queued`, `Generating`, ...).
      return { kind: 'pending', fraction: fraction(answer.progress) };
  }
}

function fraction(progress: unknown): number | undefined {
  if (typeof progress !== 'number' || !Number.isFinite(progress) || progress < 0) return undefined;
  // The schema says 0..1; tolerate a percentage.
  return Math.min(1, progress > 1 ? progress / 100 : progress);
}

function detailText(details: unknown): string | undefined {
  if (details === null || details === undefined) return undefined;
  const text = errorDetail(details) ?? JSON.stringify(details);
  return text === '{}' ? undefined : text.slice(0, 300);
}

/** A reported cost in credits: a finite, non-negative number, else undefined (the bot then prices from its table). */
export function readCost(cost: unknown): number | undefined {
  return typeof cost === 'number' && Number.isFinite(cost) && cost >= 0 ? cost : undefined;
}
