/**
 * Discord ack latency (issue 4): 500 `/flux` commands sent in one burst through the fake gateway; for each, the time
 * from its INTERACTION_CREATE dispatch to its defer callback arriving at the fake Discord. Target p99 < 100 ms
 * (Discord's limit is 3 s).
 *
 *   npx tsx bench/discord-ack.ts [commands=500] [--adapter-only] [--reconnect] [--clicks]   (Redis on 127.0.0.1:6379; all else local)
 *
 * `--clicks`: the burst is Reroll button clicks (from 50 members) on one delivered image instead of `/flux` commands;
 * each is acked with a deferred update (callback type 6), then rerolled in full (its job record read, admission, a
 * status message, enqueue, a private follow-up). The bare client defers the update and nothing else.
 *
 * The bot is the real one: discord.js 14 logged in to the fake gateway and the DiscordAdapter handling each command
 * in full after its ack (validation, status message, admission in Redis, enqueue, private answer). No generation
 * worker runs. The fake Discord runs in a worker thread, as Discord runs elsewhere: the bot's thread does only the
 * bot's work, and both ends of each measurement are taken by the fake's clock.
 *
 * One burst: the 500 INTERACTION_CREATE payloads are built first and then sent back to back (the fake yields to its
 * HTTP side between frames), so the burst lasts as long as sending 500 frames takes (tens of ms), not as long as the
 * fake takes to build them. Measured warm, as a running bot meets a burst: an untimed burst of 100 commands first
 * (discord.js's lazily loaded classes, the JIT, the connection pools), whose private answers are let out before the
 * timed burst starts; the fake keeps idle connections open meanwhile, as Discord's edge does (`--reconnect`: closed
 * after Node's default 5 s, so the measured burst opens every connection anew).
 * `bareDiscordJs` is a plain discord.js client whose only work is the defer, warmed the same way;
 * `transportFloorMs` is the same number of concurrent POSTs with undici's `request` over the adapter's pool settings
 * to a bare HTTP server in the fake's thread, with no bot and no Discord logic (cold: new connections; warm: kept
 * alive): what any client on this machine pays. `--adapter-only` skips those two (for --cpu-prof). Prints JSON.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Client, Events, GatewayIntentBits, MessageFlags } from 'discord.js';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { DiscordAdapter } from '../src/bots/discord/discord-adapter.js';
import { buttonId, imageButtons } from '../src/bots/discord/image-buttons.js';
import { parseFluxRequest } from '../src/core/request.js';
import { buildClick } from '../test/fakes/discord/component-interaction.js';
import { loadConfig } from '../src/config.js';
import { FluxbotCore } from '../src/core/core.js';
import { FakeDiscord, type DiscordCall, type DispatchedInteraction } from '../test/fakes/discord/index.js';
import { dropPrefix, testPrefix } from '../test/helpers/core.js';

const USERS = 50;
/** `--adapter-only`: measure the adapter alone (no transport floor, no bare client), e.g. under --cpu-prof. */
const ADAPTER_ONLY = process.argv.includes('--adapter-only');
/** `--reconnect`: the fake closes idle connections after 5 s, so the measured burst opens all its connections anew. */
const RECONNECT = process.argv.includes('--reconnect');
/** `--clicks`: button clicks (Reroll) instead of slash commands. */
const CLICKS = process.argv.includes('--clicks');
/** The job of the delivered image the clicks are on (its record is written by the bot's side). */
const IMAGE_JOB = `j${'b'.repeat(32)}`;
/** Commands of the untimed warm-up burst before each measured one. */
const WARMUP = 100;

/** `untracked`: not waited for by `drain` (the bare discord.js client never answers privately). */
type FakeRequest = { type: 'burst'; commands: number; untracked?: boolean } | { type: 'drain' } | { type: 'close' };
type FakeAnswer =
  | { type: 'started'; apiUrl: string; guildId: string; floorUrl: string; image: { messageId: string; channelId: string; userId: string } }
  | { type: 'burst'; dispatchedInMs: number; ackMs: number[]; refused: number }
  | { type: 'drained'; ms: number }
  | { type: 'closed' };

interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return { p50: pct(50), p90: pct(90), p99: pct(99), max: sorted.at(-1)! };
}

/** The fake Discord's thread: dispatches bursts and times each command by its own clock. */
async function fakeThread(): Promise<void> {
  const port = parentPort!;
  // Connections kept open between bursts, as Discord's edge does; with --reconnect, Node's default 5 s, so that every
  // connection of the measured burst is new (the drain before it lasts longer than that).
  const fake = await FakeDiscord.start(RECONNECT ? {} : { keepAliveTimeoutMs: 120_000 });
  const users = Array.from({ length: USERS }, (_, n) => fake.addMember({ username: `member${n}` }).id);
  // The delivered image the clicks are on, with its row of buttons (its record is the bot's side's to write).
  const image = fake.addMessage('general', { content: 'an image', components: imageButtons(IMAGE_JOB) });
  const send = (a: FakeAnswer) => port.postMessage(a);
  const floor = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => floor.listen(0, '127.0.0.1', resolve));
  const all: DispatchedInteraction[] = [];
  const started = Date.now();

  /** A Reroll click built like `fake.click`, sent later (as prepareInteraction does for commands). */
  function prepareClick(n: number): { id: string; dispatch: () => DispatchedInteraction } {
    const { payload, record } = buildClick(fake.state, { messageId: image.id, customId: buttonId('reroll', IMAGE_JOB), user: users[n % USERS]! }, fake.settings.uploadLimitBytes);
    const { id, token, applicationId, guildId, channelId, user } = record;
    return { id, dispatch: () => ({ id, token, applicationId, guildId, channelId, userId: user.id, seq: fake.dispatch('INTERACTION_CREATE', payload), payload }) };
  }

  async function burst(commands: number, untracked = false): Promise<void> {
    // Built before the burst (see prepareInteraction): during it the fake only sends frames and answers callbacks.
    const prepared = Array.from({ length: commands }, (_, n) => (CLICKS ? prepareClick(n) : fake.prepareInteraction({ name: 'flux', user: users[n % USERS]!, options: { prompt: `burst ${n}`, aspect_ratio: '1:1' } })));
    const sentAt = new Map<string, number>();
    const acks = new Map<string, DiscordCall>();
    // One waiter for the whole burst (not one per command, which would cost each recorded call 500 predicate runs).
    const allAcked = fake.waitFor(
      (c) => {
        const id = c.route === 'interactionCallback' ? c.params.interactionId : undefined;
        if (id !== undefined && sentAt.has(id) && !acks.has(id)) acks.set(id, c);
        return acks.size === commands;
      },
      60_000,
    );
    const begin = Date.now();
    for (const p of prepared) {
      sentAt.set(p.id, Date.now());
      const sent = p.dispatch();
      if (!untracked) all.push(sent);
      // Back to the event loop between frames (no waiting): the fake's HTTP side answers callbacks meanwhile, as
      // Discord's gateway and API are separate machines.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const dispatchedInMs = Date.now() - begin;
    await allAcked;
    const calls = [...acks.entries()];
    send({ type: 'burst', dispatchedInMs, ackMs: calls.map(([id, call]) => call.at - sentAt.get(id)!), refused: calls.filter(([, c]) => c.status !== 204).length });
  }

  port.on('message', (req: FakeRequest) => {
    void (async () => {
      if (req.type === 'burst') return burst(req.commands, req.untracked);
      if (req.type === 'drain') {
        // Every command's private answer (a click's: its follow-up): the status posts and answers go at discord.js's 50
        // requests/s global limit.
        const answer = CLICKS ? 'createFollowup' : 'editOriginal';
        await Promise.all(all.map((i) => fake.waitFor((c) => c.route === answer && c.params.token === i.token, 300_000)));
        return send({ type: 'drained', ms: Date.now() - started });
      }
      floor.close();
      floor.closeAllConnections();
      await fake.close();
      send({ type: 'closed' });
      port.close();
    })();
  });
  send({
    type: 'started',
    apiUrl: fake.apiUrl,
    guildId: fake.guild.id,
    floorUrl: `http://127.0.0.1:${(floor.address() as AddressInfo).port}/`,
    image: { messageId: image.id, channelId: image.channelId, userId: users[0]! },
  });
}

/**
 * `n` concurrent POSTs to a bare server with undici's `request` over the adapter's pool settings (128 kept-alive
 * connections), as discord.js's REST sends: cold (new connections), then warm (kept alive).
 */
async function transportFloor(url: string, n: number): Promise<{ cold: Percentiles; warm: Percentiles }> {
  const agent = new Agent({ connections: 128, keepAliveTimeout: 30_000 });
  const burst = async (): Promise<Percentiles> =>
    percentiles(
      await Promise.all(
        Array.from({ length: n }, async () => {
          const begin = Date.now();
          const res = await request(url, { method: 'POST', body: '{"type":5}', headers: { 'content-type': 'application/json' }, dispatcher: agent });
          await res.body.dump();
          return Date.now() - begin;
        }),
      ),
    );
  const cold = await burst();
  const warm = await burst();
  await agent.close();
  return { cold, warm };
}

/** The bot's side: the adapter on real Redis, pointed at the fake in the other thread. */
async function main(commands: number): Promise<void> {
  // The thread loads this same file through tsx's loader (worker threads do not inherit `npx tsx`'s hooks).
  const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const fakeWorker = new Worker(boot, { eval: true, workerData: { fake: true } });
  const answers: FakeAnswer[] = [];
  const waiters: Array<() => void> = [];
  fakeWorker.on('message', (a: FakeAnswer) => {
    answers.push(a);
    waiters.splice(0).forEach((w) => w());
  });
  const ask = async <T extends FakeAnswer['type']>(type: T, req?: FakeRequest): Promise<Extract<FakeAnswer, { type: T }>> => {
    if (req) fakeWorker.postMessage(req);
    for (;;) {
      const found = answers.find((a) => a.type === type);
      if (found) {
        answers.splice(answers.indexOf(found), 1);
        return found as Extract<FakeAnswer, { type: T }>;
      }
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  const { apiUrl, guildId, floorUrl, image } = await ask('started');
  const transportFloorMs = ADAPTER_ONLY ? undefined : await transportFloor(floorUrl, commands);

  const logger = pino({ level: 'silent' });
  const prefix = testPrefix('bench-ack');
  const big = 1_000_000;
  const core = new FluxbotCore({
    redisUrl: 'redis://127.0.0.1:6379',
    logger,
    prefix,
    quotas: { dailyPerUser: big, concurrentPerUser: big, dailyPerGuild: big, concurrentPerGuild: big },
  });
  await core.ready();
  if (CLICKS) await writeImageRecord(core, guildId, image);
  const progress = core.createProgressFeed();
  await progress.ready();
  const summary = (b: Extract<FakeAnswer, { type: 'burst' }>) => ({ dispatchedInMs: b.dispatchedInMs, ackMs: percentiles(b.ackMs), acksRefused: b.refused });

  // The floor discord.js itself sets: a bare client whose only work is the defer, on the same connection pool settings.
  const bareDiscordJs = ADAPTER_ONLY ? undefined : await bareClient(apiUrl, (req) => ask('burst', req), commands);

  const config = loadConfig({ DISCORD_TOKEN: 'bench-token', DISCORD_API_URL: apiUrl, DISCORD_GUILD_ID: guildId });
  const adapter = new DiscordAdapter({ config, core, logger, progress });
  await adapter.start();
  // Warm-up (discord.js's lazily loaded classes, JIT, the connection pool), then its private answers are let out so
  // they do not overlap the measured burst.
  await ask('burst', { type: 'burst', commands: WARMUP });
  await ask('drained', { type: 'drain' });
  const elu0 = performance.eventLoopUtilization();
  const ticks0 = cpuTicks();
  const burst = summary(await ask('burst', { type: 'burst', commands }));
  const elu = performance.eventLoopUtilization(elu0);
  const botThreadBusy = `${Math.round(elu.utilization * 100)}% (${Math.round(elu.active)} ms)`;
  const machine = machineShare(ticks0);
  const drained = await ask('drained', { type: 'drain' });
  const counts = await core.queue.getJobCounts();
  console.log(
    JSON.stringify(
      {
        kind: CLICKS ? 'Reroll clicks' : '/flux commands',
        commands,
        warmupCommands: WARMUP,
        ...burst,
        botThreadBusy,
        machine,
        bareDiscordJs,
        transportFloorMs,
        allAnsweredMs: drained.ms,
        jobsQueued: counts.prioritized,
        node: process.version,
        cpus: availableParallelism(),
      },
      null,
      2,
    ),
  );
  await adapter.stop();
  await core.close(1000);
  await ask('closed', { type: 'close' });
  await dropPrefix(prefix);
}

/** The job record of the image the clicks are on, as the worker writes it once the image is delivered. */
async function writeImageRecord(core: FluxbotCore, guildId: string, image: { messageId: string; channelId: string; userId: string }): Promise<void> {
  const parsed = parseFluxRequest({ prompt: 'a lighthouse at dawn', model: 'flux-pro' });
  if (!parsed.ok) throw new Error(parsed.error.message);
  const entry = core.records.entry({
    jobId: IMAGE_JOB,
    request: parsed.request,
    requester: { platform: 'discord', guildId, userId: image.userId },
    target: { platform: 'discord', channelId: image.channelId },
    platform: 'discord',
    messageId: image.messageId,
    channelId: image.channelId,
    provider: 'preview',
    seed: 1,
    createdAt: Date.now(),
  });
  await core.redis.set(entry.key, entry.value, 'EX', entry.ttlSeconds);
}

/** The machine's CPU time counters, all cores together (/proc/stat, in clock ticks). */
function cpuTicks(): number[] {
  return readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
}

/**
 * Since `since`: the share of the machine's CPU time that was busy, and the share stolen by the hypervisor (time this
 * VM wanted to run and could not, one source of the noise between runs).
 */
function machineShare(since: number[]): { busy: string; steal: string } {
  const d = cpuTicks().map((v, i) => v - (since[i] ?? 0));
  const total = d.reduce((a, b) => a + b, 0) || 1;
  const pct = (n: number) => `${Math.round((n / total) * 100)}%`;
  return { busy: pct(total - (d[3] ?? 0) - (d[4] ?? 0) - (d[7] ?? 0)), steal: pct(d[7] ?? 0) };
}

/** A plain discord.js client whose only work is the ephemeral defer; warmed up like the adapter, then measured. */
async function bareClient(apiUrl: string, burst: (req: FakeRequest) => Promise<Extract<FakeAnswer, { type: 'burst' }>>, commands: number) {
  const agent = new Agent({ connections: 128, keepAliveTimeout: 30_000 });
  const bare = new Client({ intents: GatewayIntentBits.Guilds, rest: { api: apiUrl, agent } });
  bare.on(Events.InteractionCreate, (i) => {
    if (i.isChatInputCommand()) void i.deferReply({ flags: MessageFlags.Ephemeral }).catch(() => undefined);
    if (i.isButton()) void i.deferUpdate().catch(() => undefined);
  });
  const bareReady = once(bare, Events.ClientReady);
  await bare.login('bench-token');
  await bareReady;
  await burst({ type: 'burst', commands: WARMUP, untracked: true });
  const elu0 = performance.eventLoopUtilization();
  const measured = await burst({ type: 'burst', commands, untracked: true });
  const elu = performance.eventLoopUtilization(elu0);
  await bare.destroy();
  await agent.close();
  return { dispatchedInMs: measured.dispatchedInMs, ackMs: percentiles(measured.ackMs), botThreadBusy: `${Math.round(elu.utilization * 100)}% (${Math.round(elu.active)} ms)` };
}

if (isMainThread) await main(Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 500));
else if ((workerData as { fake?: boolean } | undefined)?.fake) await fakeThread();
