/**
 * Provider HTTP requests per image, with polling and with webhooks (issue 6).
 *
 *   npx tsx bench/provider-requests.ts [images=20] [--latency=3000] [--redis=redis://127.0.0.1:6379] [--only=replicate|fal|bfl]
 *
 * Each configuration runs `images` generations at once through the real pipeline (admission → BullMQ → worker → the
 * real provider adapter, at its default poll interval → download → in-memory delivery) against the provider's local
 * fake, every generation taking `--latency` ms. With webhooks, the bot's real HTTP endpoint receives them
 * (`POST /webhooks/<provider>`, verified) and the hub in Redis wakes the worker; the fallback poll is 15 s (the
 * default), longer than a generation, so no poll happens unless a webhook is lost. Counted from the fakes' own logs:
 * API calls (create/submit, status polls, result reads, the one-time Replicate secret fetch) and image downloads.
 * The BFL fake does not send webhooks, so this script sends them as BFL would, when a task is done.
 * Prints a Markdown table and JSON.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { FluxbotCore } from '../src/core/core.js';
import { BflProvider } from '../src/core/providers/bfl/bfl-provider.js';
import { FalProvider } from '../src/core/providers/fal/fal-provider.js';
import type { ImageProvider } from '../src/core/providers/provider.js';
import { ReplicateProvider } from '../src/core/providers/replicate/replicate-provider.js';
import { setupWebhooks, type Webhooks } from '../src/core/providers/webhooks/index.js';
import { parseFluxRequest } from '../src/core/request.js';
import { HttpServer } from '../src/http/server.js';
import { BflFake } from '../test/fakes/bfl-fake.js';
import { FalFake } from '../test/fakes/fal-fake.js';
import type { RecordedCall } from '../test/fakes/fake-server.js';
import { MemoryDelivery } from '../test/fakes/memory-delivery.js';
import { ReplicateFake } from '../test/fakes/replicate-fake.js';
import { dropPrefix } from '../test/helpers/core.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const REDIS = flag('redis') ?? 'redis://127.0.0.1:6379';
const IMAGES = Number(args.find((a) => /^\d+$/.test(a)) ?? 20);
const LATENCY_MS = Number(flag('latency') ?? 3000);
const ONLY = flag('only');
const logger = pino({ level: 'silent' });
const QUOTAS = { dailyPerUser: 1_000_000, concurrentPerUser: 1_000_000, dailyPerGuild: 1_000_000, concurrentPerGuild: 1_000_000 };

/** A provider fake seen the same way: its calls, sorted into API calls and downloads. */
interface Subject {
  provider: (webhooks: Webhooks | undefined) => ImageProvider;
  calls: () => RecordedCall[];
  isDownload: (call: RecordedCall) => boolean;
  isPoll: (call: RecordedCall) => boolean;
  replicate?: ReplicateFake;
  /** True once every webhook the fake sends has been answered (counted after the last delivery). */
  settled?: () => boolean;
  /** Sends webhooks the fake itself does not (BFL). */
  sendWebhooks?: (stop: AbortSignal) => Promise<void>;
  close: () => Promise<void>;
}

interface Row {
  config: string;
  apiCallsPerImage: number;
  pollsPerImage: number;
  downloadsPerImage: number;
  webhooksPerImage: number;
  p50Ms: number;
}

async function replicate(preferWaitSeconds: number): Promise<Subject> {
  const fake = await ReplicateFake.start({ latencyMs: LATENCY_MS });
  return {
    replicate: fake,
    settled: () => fake.webhooksSent.length >= fake.created,
    provider: () => new ReplicateProvider({ baseUrl: fake.baseUrl, token: fake.token, preferWaitSeconds, allowPrivateDownloads: true }),
    calls: () => fake.calls,
    isDownload: (c) => c.path.startsWith('/files/'),
    isPoll: (c) => c.method === 'GET' && /^\/v1\/predictions\//.test(c.path),
    close: () => fake.close(),
  };
}

async function fal(): Promise<Subject> {
  const fake = await FalFake.start({ latencyMs: LATENCY_MS });
  return {
    provider: () => new FalProvider({ key: fake.key, baseUrl: fake.url, allowPrivateDownloads: true }),
    calls: () => fake.calls,
    isDownload: (c) => c.path.startsWith('/files/'),
    isPoll: (c) => c.method === 'GET' && c.path.endsWith('/status'),
    close: () => fake.close(),
  };
}

async function bfl(): Promise<Subject> {
  const fake = await BflFake.start({ latencyMs: LATENCY_MS, regionalPolling: false });
  return {
    provider: (w) => new BflProvider({ apiKey: fake.key, baseUrl: fake.url, ...(w ? { webhookSecret: w.bflSecret } : {}) }),
    calls: () => fake.calls,
    isDownload: (c) => c.path.startsWith('/samples/'),
    isPoll: (c) => c.method === 'GET' && c.path === '/v1/get_result',
    // As BFL would: when a task submitted with webhook_url is done, POST {id,status,result} there with the secret.
    sendWebhooks: async (stop) => {
      const sent = new Set<string>();
      while (!stop.aborted) {
        for (const task of fake.tasks.values()) {
          const { webhook_url: url, webhook_secret: secret } = task.body as { webhook_url?: string; webhook_secret?: string };
          if (!url || sent.has(task.id) || Date.now() - task.createdAt < fake.latencyMs) continue;
          sent.add(task.id);
          void fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(secret ? { 'x-webhook-secret': secret } : {}) },
            body: JSON.stringify({ id: task.id, status: 'Ready', result: { sample: fake.sampleUrl(task.id), seed: task.seed } }),
          }).then((r) => r.arrayBuffer());
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close: () => fake.close(),
  };
}

async function measure(config: string, subject: Subject, withWebhooks: boolean): Promise<Row> {
  const prefix = `{bench-hooks-${randomUUID().slice(0, 8)}}`;
  const core = new FluxbotCore({ redisUrl: REDIS, logger, prefix, quotas: QUOTAS });
  await core.ready();
  let webhooks: Webhooks | undefined;
  let received = 0;
  const http = new HttpServer({
    port: 0,
    host: '127.0.0.1',
    logger,
    checks: [],
    webhooks: {
      handle: async (p, req) => {
        received++;
        return webhooks ? webhooks.receiver.handle(p, req) : { status: 404, body: {} };
      },
    },
  });
  const endpoint = `http://127.0.0.1:${await http.listen()}`;
  if (withWebhooks) {
    webhooks = await setupWebhooks({
      settings: {
        PUBLIC_URL: endpoint,
        REPLICATE_API_URL: subject.replicate?.baseUrl ?? 'http://127.0.0.1:1/v1',
        REPLICATE_API_TOKEN: subject.replicate?.token,
      },
      redis: core.redis,
      subscriber: () => core.connect({ maxRetriesPerRequest: null }),
      prefix,
      logger,
      listen: true,
    });
  }
  const delivery = new MemoryDelivery();
  const worker = core.createWorker({
    providers: [subject.provider(webhooks)],
    deliveries: { discord: delivery },
    concurrency: IMAGES,
    ...(webhooks ? { webhookUrl: webhooks.webhookUrl, completion: webhooks.completion } : {}),
  });
  await worker.start();
  const stopSender = new AbortController();
  const sender = withWebhooks ? subject.sendWebhooks?.(stopSender.signal) : undefined;

  const parsed = parseFluxRequest({ prompt: 'a lighthouse at dawn', output_format: 'png', aspect_ratio: '1:1' });
  if (!parsed.ok) throw parsed.error;
  const submittedAt = new Map<string, number>();
  const doneAt: number[] = [];
  const started = Date.now();
  await Promise.all(
    Array.from({ length: IMAGES }, async (_, i) => {
      const res = await core.service.submit(parsed.request, { platform: 'discord', guildId: 'g', userId: `u${i}` }, { platform: 'discord', channelId: 'c' }, { dedupeKey: `b${i}` });
      if (res.status !== 'queued') throw new Error(`submit ${i}: ${res.status}`);
      submittedAt.set(res.jobId, Date.now());
    }),
  );
  await delivery.until(() => {
    while (doneAt.length < delivery.delivered.length) {
      const d = delivery.delivered[doneAt.length]!;
      doneAt.push(Date.now() - (submittedAt.get(d.jobId) ?? started));
    }
    return delivery.delivered.length >= IMAGES;
  }, LATENCY_MS * 4 + 60_000);
  stopSender.abort();
  await sender;
  // With Prefer: wait the answer comes before the webhook: count the webhooks too (they find no waiter and expire).
  for (let i = 0; withWebhooks && subject.settled && !subject.settled() && i < 500; i++) await new Promise((resolve) => setTimeout(resolve, 10));

  const calls = subject.calls();
  const api = calls.filter((c) => !subject.isDownload(c));
  const row: Row = {
    config,
    apiCallsPerImage: api.length / IMAGES,
    pollsPerImage: api.filter(subject.isPoll).length / IMAGES,
    downloadsPerImage: calls.filter(subject.isDownload).length / IMAGES,
    webhooksPerImage: received / IMAGES,
    p50Ms: doneAt.sort((a, b) => a - b)[Math.floor(doneAt.length / 2)] ?? 0,
  };
  await http.close();
  await webhooks?.close();
  await core.close(1000);
  await dropPrefix(prefix, REDIS);
  await subject.close();
  return row;
}

const configs: Array<[string, string, () => Promise<Subject>, boolean]> = [
  ['replicate', 'replicate, Prefer: wait (default), polling', () => replicate(60), false],
  ['replicate', 'replicate, Prefer: wait (default), webhooks', () => replicate(60), true],
  ['replicate', 'replicate, no Prefer: wait (proxy), polling', () => replicate(0), false],
  ['replicate', 'replicate, no Prefer: wait (proxy), webhooks', () => replicate(0), true],
  ['fal', 'fal, polling', fal, false],
  ['fal', 'fal, webhooks', fal, true],
  ['bfl', 'bfl, polling', bfl, false],
  ['bfl', 'bfl, webhooks', bfl, true],
];

const rows: Row[] = [];
for (const [provider, name, make, hooks] of configs) {
  if (ONLY && ONLY !== provider) continue;
  rows.push(await measure(name, await make(), hooks));
}
const fmt = (n: number) => (Math.round(n * 100) / 100).toString();
process.stdout.write(`${IMAGES} images at once, provider latency ${LATENCY_MS} ms, default poll intervals\n\n`);
process.stdout.write('| configuration | API calls / image | of which status polls | downloads / image | webhooks / image | p50 submit → delivered |\n|---|---|---|---|---|---|\n');
for (const r of rows) {
  process.stdout.write(`| ${r.config} | ${fmt(r.apiCallsPerImage)} | ${fmt(r.pollsPerImage)} | ${fmt(r.downloadsPerImage)} | ${fmt(r.webhooksPerImage)} | ${r.p50Ms} ms |\n`);
}
process.stdout.write(`\n${JSON.stringify({ images: IMAGES, latencyMs: LATENCY_MS, rows })}\n`);
process.exit(0);
