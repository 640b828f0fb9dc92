/**
 * Redis bytes per retained image and per queued job (issue 14).
 *
 *   npm run bench:footprint -- [jobs=200] [--redis=redis://127.0.0.1:6379] [--json]
 *
 * Two rounds, each under a private prefix of its own on the given Redis: `jobs` text-only images, then `jobs` images
 * made from two reference-image links (members' links, checked at admission through the guard, kept as links). Each
 * round goes through the real pipeline: GenerationService.submit (admission Lua → BullMQ) → GenerationWorker → the
 * preview provider → a delivery port that answers with Discord-sized ids → the delivered/record/release writes.
 * Requests, targets and ids are shaped as the Discord adapter makes them (snowflakes, a status message, the
 * interaction in `extra`), 20 people in 4 servers.
 *
 * Measured with `MEMORY USAGE <key> SAMPLES 0` (exact, not sampled) on every key of the round's prefix (both the old
 * `{prefix}:…` layout and the spread `<name>:…:{tag}…` one, so the same script measures before and after), summed by
 * kind; the INFO `used_memory` delta is printed too, but on a shared Redis other clients move it. Three snapshots:
 * before, with the jobs queued (no worker yet), and once every job completed.
 */
import { randomUUID } from 'node:crypto';
import type { LookupAddress } from 'node:dns';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { INTERACTION_EXTRA } from '../src/bots/discord/private-delivery.js';
import { FluxbotCore } from '../src/core/core.js';
import type { DeliveredMessage, DeliveryPort, DeliveryRequest, DeliveryTarget, Requester } from '../src/core/ports.js';
import { PreviewProvider } from '../src/core/providers/preview/preview-provider.js';
import { parseFluxRequest, type FluxRequest } from '../src/core/request.js';
import { FakeServer, makeImage } from '../test/fakes/fake-server.js';
import { dropPrefix } from '../test/helpers/core.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const REDIS = flag('redis') ?? 'redis://127.0.0.1:6379';
const JOBS = Number(args.find((a) => /^\d+$/.test(a)) ?? 200);
const JSON_ONLY = args.includes('--json');
/** `--retention=N`: JOB_RETENTION_DAYS for the per-image figure (default 30). */
const RETENTION_DAYS = Number(flag('retention') ?? 30);
const logger = pino({ level: 'silent' });
const QUOTAS = { dailyPerUser: 1_000_000, concurrentPerUser: 1_000_000, dailyPerGuild: 1_000_000, concurrentPerGuild: 1_000_000 };

/** A Discord-sized id (a snowflake of now, 19 digits). */
let sequence = 0;
function snowflake(): string {
  return ((BigInt(Date.now() - 1_420_070_400_000) << 22n) + BigInt(sequence++ % 4096)).toString();
}

const GUILDS = Array.from({ length: 4 }, () => snowflake());
const PEOPLE: Requester[] = Array.from({ length: 20 }, (_, i) => ({ platform: 'discord', guildId: GUILDS[i % 4]!, userId: snowflake() }));
const CHANNELS = GUILDS.map(() => snowflake());
const APPLICATION = snowflake();

/** Answers with snowflakes, as Discord's message ids are. */
class SnowflakeDelivery implements DeliveryPort {
  delivered = 0;
  async deliver(d: DeliveryRequest): Promise<DeliveredMessage> {
    this.delivered++;
    return { platform: 'discord', messageId: snowflake(), channelId: d.target.channelId };
  }
  async notifyFailure(): Promise<void> {}
}

/** The target the Discord adapter's /flux makes (status message, upload limit, the interaction for a private reply). */
function targetFor(i: number): DeliveryTarget {
  const channelId = CHANNELS[i % CHANNELS.length]!;
  return {
    platform: 'discord',
    channelId,
    statusMessageId: snowflake(),
    maxUploadBytes: 10 * 1024 * 1024,
    nsfwAllowed: false,
    extra: {
      statusChannelId: channelId,
      [INTERACTION_EXTRA.token]: `aW50ZXJhY3Rpb246${randomUUID().replace(/-/g, '')}${'x'.repeat(160)}`,
      [INTERACTION_EXTRA.applicationId]: APPLICATION,
      [INTERACTION_EXTRA.createdAt]: String(Date.now()),
    },
  };
}

const PROMPT = 'a lighthouse on a rocky coast at dawn, volumetric light through sea mist, 35mm film photo';

function requestFor(i: number, links: string[] | undefined): FluxRequest {
  const parsed = parseFluxRequest(
    links ? { prompt: PROMPT, model: 'flux-2-pro', images: links, seed: i + 1 } : { prompt: PROMPT, seed: i + 1 },
    { allowPrivateImageLinks: true },
  );
  if (!parsed.ok) throw parsed.error;
  return parsed.request;
}

type Kind =
  | 'record'
  | 'history'
  | 'dedupe'
  | 'stash'
  | 'input'
  | 'bullmq job'
  | 'bullmq completed set'
  | 'bullmq events'
  | 'bullmq queue (wait/prioritized/meta/…)'
  | 'quota counters + reservations'
  | 'other';

/** What a key is, in either layout (`{p}:record:…` before issue 14; `p:r:{…}` after). */
function kindOf(key: string): Kind {
  if (/:record:|:r:\{/.test(key)) return 'record';
  if (/:history:|:h:\{/.test(key)) return 'history';
  if (/:q:dedupe:/.test(key)) return 'dedupe';
  if (/:image:|:i:\{/.test(key)) return 'stash';
  if (/:input:|:in:\{/.test(key)) return 'input';
  if (/:generate:j[0-9a-f]{32}(:|$)/.test(key)) return 'bullmq job';
  if (/:generate:completed$/.test(key)) return 'bullmq completed set';
  if (/:generate:events$/.test(key)) return 'bullmq events';
  if (/:generate:/.test(key)) return 'bullmq queue (wait/prioritized/meta/…)';
  if (/:q:/.test(key)) return 'quota counters + reservations';
  return 'other';
}

interface Snapshot {
  keys: number;
  bytes: Partial<Record<Kind, number>>;
  counts: Partial<Record<Kind, number>>;
  total: number;
  usedMemory: number;
}

/** Every key of the round (both layouts), its exact MEMORY USAGE, by kind. */
async function snapshot(redis: Redis, prefix: string): Promise<Snapshot> {
  const name = prefix.replace(/[{}]/g, '');
  const keys = new Set<string>();
  for (const pattern of [`${prefix}*`, `${name}:*`]) {
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (const key of found) keys.add(key);
    } while (cursor !== '0');
  }
  const list = [...keys];
  const pipeline = redis.pipeline();
  for (const key of list) pipeline.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
  const replies = (await pipeline.exec()) ?? [];
  const bytes: Partial<Record<Kind, number>> = {};
  const counts: Partial<Record<Kind, number>> = {};
  let total = 0;
  list.forEach((key, i) => {
    const n = Number(replies[i]?.[1] ?? 0);
    const kind = kindOf(key);
    bytes[kind] = (bytes[kind] ?? 0) + n;
    counts[kind] = (counts[kind] ?? 0) + 1;
    total += n;
  });
  const info = await redis.info('memory');
  const usedMemory = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
  return { keys: list.length, bytes, counts, total, usedMemory };
}

interface Round {
  variant: string;
  jobs: number;
  queued: Snapshot;
  done: Snapshot;
  before: Snapshot;
  /** Sample key names, one per kind (after the run). */
  sampleKeys: Partial<Record<Kind, string>>;
  /** One record as stored. */
  sampleRecord: string;
  /** How long the queue keeps a completed job (removeOnComplete.age). */
  keepCompletedSeconds: number;
}

async function round(variant: 'text-only' | 'two links', links: FakeServer | undefined): Promise<Round> {
  const prefix = `{fbfp-${randomUUID().slice(0, 8)}}`;
  const dns = async (host: string): Promise<LookupAddress[]> => (host === 'images.example' ? [{ address: '127.0.0.1', family: 4 }] : []);
  const guard = { lookup: dns, trustedAddresses: ['127.0.0.1'] };
  const core = new FluxbotCore({ redisUrl: REDIS, prefix, logger, quotas: QUOTAS, memberLinkGuard: guard });
  const redis = new Redis(REDIS);
  try {
    await core.ready();
    const before = await snapshot(redis, prefix);
    const linksOf = (i: number) =>
      links
        ? [0, 1].map((k) => `http://images.example:${links.port}/attachments/${GUILDS[i % 4]}/${snowflake()}/reference-${k + 1}.png?ex=66a1b2c3&is=66a06143`)
        : undefined;
    for (let i = 0; i < JOBS; i++) {
      const r = await core.service.submit(requestFor(i, linksOf(i)), PEOPLE[i % PEOPLE.length]!, targetFor(i), { dedupeKey: `discord:interaction:${snowflake()}` });
      if (r.status !== 'queued') throw new Error(`not queued: ${r.status}`);
    }
    const queued = await snapshot(redis, prefix);
    const delivery = new SnowflakeDelivery();
    const worker = core.createWorker({ providers: [new PreviewProvider({ imageGuard: guard })], deliveries: { discord: delivery }, concurrency: 20 });
    await worker.start();
    const deadline = Date.now() + 10 * 60_000;
    while ((await core.queue.getJobCounts('completed')).completed! < JOBS) {
      const counts = await core.queue.getJobCounts('failed');
      if (counts.failed! > 0) throw new Error(`${counts.failed} jobs failed`);
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await worker.close(5000);
    const done = await snapshot(redis, prefix);
    const sampleKeys: Partial<Record<Kind, string>> = {};
    let sampleRecord = '';
    for (const pattern of [`${prefix}*`, `${prefix.replace(/[{}]/g, '')}:*`]) {
      const [, found] = await redis.scan('0', 'MATCH', pattern, 'COUNT', 100_000);
      for (const key of found) sampleKeys[kindOf(key)] ??= key;
    }
    if (sampleKeys.record) sampleRecord = (await redis.get(sampleKeys.record)) ?? '';
    const keep = core.queue.defaultJobOptions.removeOnComplete;
    const keepCompletedSeconds = typeof keep === 'object' && 'age' in keep && keep.age !== undefined ? keep.age : Number.POSITIVE_INFINITY;
    return { variant, jobs: JOBS, before, queued, done, sampleKeys, sampleRecord, keepCompletedSeconds };
  } finally {
    await core.close(1000);
    redis.disconnect();
    await dropPrefix(prefix, REDIS);
    // The spread keys (dropPrefix before issue 14 did not know them).
    await dropPrefix(`${prefix.replace(/[{}]/g, '')}:`, REDIS);
  }
}

function perJob(s: Snapshot, base: Snapshot, kind: Kind, jobs: number): number {
  return ((s.bytes[kind] ?? 0) - (base.bytes[kind] ?? 0)) / jobs;
}

/** A dedupe key lives a day (the admission script's expiry). */
const DEDUPE_SECONDS = 86_400;

function report(r: Round): Record<string, unknown> {
  const per = (s: Snapshot, kinds: readonly Kind[]) => Object.fromEntries(kinds.map((k) => [k, Math.round(perJob(s, r.before, k, r.jobs))]));
  const done = (kind: Kind) => perJob(r.done, r.before, kind, r.jobs);
  const all = Object.keys({ ...r.done.bytes, ...r.queued.bytes }) as Kind[];
  const retentionSeconds = RETENTION_DAYS * 86_400;
  // What a retained image costs at steady state (images/day × retention of them held): its record and history entry
  // for the whole retention, its dedupe key for a day and its completed BullMQ job for as long as the queue keeps it.
  const retained = done('record') + done('history');
  const completedJob = done('bullmq job') + done('bullmq completed set');
  const perImage = retained + (done('dedupe') * DEDUPE_SECONDS) / retentionSeconds + (completedJob * r.keepCompletedSeconds) / retentionSeconds;
  return {
    variant: r.variant,
    jobs: r.jobs,
    queuedBytesPerJob: Math.round((r.queued.total - r.before.total) / r.jobs),
    queuedByKind: per(r.queued, all),
    doneByKind: per(r.done, all),
    retainedBytesPerImage: Math.round(retained),
    dedupeBytes: Math.round(done('dedupe')),
    completedJobBytes: Math.round(completedJob),
    keepCompletedSeconds: r.keepCompletedSeconds,
    perImageAtRetention: Math.round(perImage),
    retentionDays: RETENTION_DAYS,
    usedMemoryDeltaPerImage: Math.round((r.done.usedMemory - r.before.usedMemory) / r.jobs),
    sampleKeys: r.sampleKeys,
    sampleRecord: { chars: r.sampleRecord.length, value: r.sampleRecord },
  };
}

async function main(): Promise<void> {
  const png = await makeImage(96, 64, 'png');
  const links = await new FakeServer((_call, res) => void res.writeHead(200, { 'content-type': 'image/png' }).end(png)).listen();
  try {
    const results = [report(await round('text-only', undefined)), report(await round('two links', links))];
    if (!JSON_ONLY) {
      console.log('| | text-only | two links |\n|---|---|---|');
      const rows: Array<[string, (x: Record<string, unknown>) => unknown]> = [
        ['queued job, all its keys', (x) => x.queuedBytesPerJob],
        ['record + history entry (kept for the retention)', (x) => x.retainedBytesPerImage],
        ['dedupe key (kept a day)', (x) => x.dedupeBytes],
        ['completed BullMQ job + its completed-set entry', (x) => x.completedJobBytes],
        ['… kept for (s)', (x) => x.keepCompletedSeconds],
        [`per retained image at ${RETENTION_DAYS} days`, (x) => x.perImageAtRetention],
        ['record as stored (chars)', (x) => (x.sampleRecord as { chars: number }).chars],
        ['used_memory delta per image (noisy)', (x) => x.usedMemoryDeltaPerImage],
      ];
      for (const [label, get] of rows) console.log(`| ${label} | ${String(get(results[0]!))} | ${String(get(results[1]!))} |`);
      console.log();
    }
    console.log(JSON.stringify(results, null, 2));
  } finally {
    await links.close();
  }
}

await main();
