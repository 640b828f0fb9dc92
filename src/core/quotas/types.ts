/**
 * Values exchanged with the quota store: admission results, release outcomes and the options shared by the store
 * and the admin service. Refusals and duplicates are expected outcomes, so they are values, never throws.
 */

/** Whose quota: a person (`discord:<guild>:<user>`, `slack:<team>:<user>`) or a server/workspace. */
export type SubjectKind = 'user' | 'guild';

/** A person or a server/workspace, by its platform-prefixed key. */
export interface QuotaTarget {
  kind: SubjectKind;
  /** `discord:<guild>:<user>` / `slack:<team>:<user>` for users, `discord:<guild>` / `slack:<team>` for guilds. */
  key: string;
}

/** The limits used when an admin has set no override. A daily limit of 0 means no images from the daily quota. */
export interface QuotaDefaults {
  dailyPerUser: number;
  concurrentPerUser: number;
  dailyPerGuild: number;
  concurrentPerGuild: number;
  /**
   * The operator's ceilings for a public deployment (absent: none). `dailyTotal` caps the images made per day across
   * every server; `maxDailyPerGuild` is the largest daily limit any server or person has, whatever a server admin
   * set (and the largest they may set); `maxGrant` the largest grant balance a server admin may give.
   */
  dailyTotal?: number | undefined;
  maxDailyPerGuild?: number | undefined;
  maxGrant?: number | undefined;
  /**
   * Budgets in micro-dollars (absent: none). `guildMonthlyBudget`: what a server/workspace may spend in a calendar
   * month unless its admin set its own; `personDailyBudget`: what one person may spend in a day in a server unless the
   * server set its own; `monthlyBudget`: the operator's cap on every server together (BUDGET_MONTHLY_USD).
   */
  guildMonthlyBudget?: number | undefined;
  personDailyBudget?: number | undefined;
  monthlyBudget?: number | undefined;
  /**
   * Daily limits of particular buckets, by guild key, in place of `dailyPerUser` / `dailyPerGuild` for that bucket and
   * the people in it: an operator-set bucket that no server admin owns (Discord's `discord:dm`, where direct messages
   * and user installs are counted).
   */
  buckets?: Readonly<Record<string, BucketDefaults>> | undefined;
}

/** The daily limits of one bucket (see QuotaDefaults.buckets); absent ones are the general defaults. */
export interface BucketDefaults {
  dailyPerUser?: number | undefined;
  dailyPerGuild?: number | undefined;
}

/** BullMQ's highest job priority (2^21 - 1): a job's priority is its position in its person's in-flight jobs, capped here. */
export const MAX_PRIORITY = 2_097_151;

/** One request to admit. The caller builds every identifier. */
export interface AdmitInput {
  /** The queue job id this reservation is for; release() and the reconciler refer to it. */
  jobId: string;
  /** The platform's delivery id (the interaction id): a redelivery returns the first job instead of charging twice. */
  dedupeKey: string;
  userKey: string;
  guildKey: string;
  /**
   * BullMQ's wait list and prioritized set of the queue the job will join (same hash tag as the quota keys): when
   * given, an admission also counts the jobs that will run before this one (`Accepted.ahead`).
   */
  queue?: { wait: string; prioritized: string };
  /** The job's estimated cost in micro-dollars, reserved against the budgets (default 0); a gallery's is all its images'. */
  costMicros?: number;
  /** Images the job makes (a gallery's count), all reserved together (default 1). */
  images?: number;
}

export type RefusalReason =
  | 'banned'
  | 'user_daily'
  | 'guild_daily'
  | 'global_daily'
  | 'user_concurrent'
  | 'guild_concurrent'
  | 'not_allowed'
  | 'user_budget'
  | 'guild_budget'
  | 'global_budget';

/** Admitted and reserved. `position` is the user's in-flight count including this job (1..M): use it as the job priority. */
export interface Accepted {
  status: 'accepted';
  jobId: string;
  position: number;
  /** Jobs that will run before this one once it is queued with priority `position` (only with `AdmitInput.queue`). */
  ahead?: number;
  /** The quota day the job was admitted on (`YYYY-MM-DD`): its money is settled on that day's and month's keys. */
  day?: string;
}

/**
 * The dedupe key was seen within the last day (or the job id already holds a reservation): nothing was charged;
 * `jobId` is the job admitted the first time.
 */
export interface Duplicate {
  status: 'duplicate';
  jobId: string;
}

/** Not admitted; nothing was charged. */
export interface Refused {
  status: 'refused';
  reason: RefusalReason;
  /** The limit that was hit (0 for bans); for budgets, micro-dollars. */
  limit: number;
  /** Usage counted against that limit (0 for bans); for budgets, micro-dollars spent or reserved. */
  used: number;
  /** For budgets: the estimate of the refused job (micro-dollars). */
  cost?: number;
  /**
   * When the quota or budget resets (epoch ms: next midnight in the configured zone, or the first of next month for
   * monthly budgets); absent for bans and concurrency.
   */
  resetAt?: number;
  /** The reason an admin gave for a ban, when one was given. */
  banReason?: string;
  /** For daily quotas and budgets: the images the refused request asked for, when more than one (a gallery). */
  asked?: number;
}

export type Admission = Accepted | Duplicate | Refused;

/** `delivered`: the image stays counted. `refunded`: the charge goes back to the bucket and day it came from. */
export type ReleaseOutcome = 'delivered' | 'refunded';

export interface ReconcileResult {
  /** Reservations refunded because their job no longer exists. */
  released: number;
  /** In-flight counters corrected to match the reservations. */
  repaired: number;
}

export interface ReconcileOptions {
  /**
   * Reservations younger than this are left alone: admission happens before the job is added to the queue, so a
   * fresh reservation's job may not exist yet. Default 60 000 ms.
   */
  minAgeMs?: number;
}

/** The quota port the queue and the adapters depend on; QuotaStore implements it on Redis. */
export interface QuotaPort {
  admit(input: AdmitInput): Promise<Admission>;
  /**
   * `actualMicros`: the delivered job's actual cost, settled in place of its estimate (absent: the estimate stands).
   * `delivered`: a gallery's images delivered; fewer than it reserved gives the rest back (absent: all).
   */
  release(jobId: string, outcome: ReleaseOutcome, actualMicros?: number, delivered?: number): Promise<boolean>;
  /** A job's first start: true when its reservation is held (and now marked started), false when it was refunded. */
  claim(jobId: string): Promise<boolean>;
  reconcile(isJobAlive: (jobId: string) => Promise<boolean>, options?: ReconcileOptions): Promise<ReconcileResult>;
  pendingReservations(): Promise<string[]>;
}
