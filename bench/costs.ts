/**
 * Money accounting bench (issue 12): 1,000 mixed jobs (every model the preview serves, ratios, custom sizes up to
 * 4 MP, several servers and people) through the real pipeline (admission Lua with budgets → BullMQ → worker → the
 * offline preview provider → an in-memory delivery), priced by an operator price table (`PRICES_FILE` form) that
 * gives the preview each model's list price. Then the bot's own accounting is read back three ways (the month's
 * spend counter in Redis, the sum of the servers' month counters, the sum of the job records' costs, the spend metric)
 * and compared with the cost of every request computed independently from the same price table. Prints JSON.
 *
 *   npx tsx bench/costs.ts [jobs] [--redis=redis://127.0.0.1:6379]
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { FluxbotCore } from '../src/core/core.js';
import { noMetrics } from '../src/core/metrics.js';
import { ASPECT_RATIOS, MODEL_IDS, MODELS, type ModelId } from '../src/core/models.js';
import { PriceTable, toMicros, type PriceOverrides } from '../src/core/prices.js';
import { PreviewProvider } from '../src/core/providers/preview/preview-provider.js';
import { QuotaKeys } from '../src/core/quotas/keys.js';
import { parseFluxRequest, type FluxRequest } from '../src/core/request.js';
import type { Requester } from '../src/core/ports.js';
import { MemoryDelivery } from '../test/fakes/memory-delivery.js';
import { dropPrefix } from '../test/helpers/core.js';

const args = process.argv.slice(2);
const JOBS = Number(args.find((a) => /^\d+$/.test(a)) ?? 1000);
const REDIS = args.find((a) => a.startsWith('--redis='))?.slice(8) ?? 'redis://127.0.0.1:6379';

// The preview priced as each model's cheapest list provider would bill it: FLUX.2 per megapixel, the rest per image.
const OVERRIDES: PriceOverrides = {
  'flux-2-pro': { preview: { per: 'megapixel', firstUsd: 0.03, extraUsd: 0.015 } },
  'flux-2-max': { preview: { per: 'megapixel', firstUsd: 0.07, extraUsd: 0.03 } },
  'flux-2-flex': { preview: { per: 'megapixel', firstUsd: 0.05, extraUsd: 0.05 } },
  'flux-2-klein-4b': { preview: { per: 'megapixel', firstUsd: 0.014, extraUsd: 0.001 } },
  'flux-2-klein-9b': { preview: { per: 'megapixel', firstUsd: 0.015, extraUsd: 0.002 } },
  'flux-2-dev': { preview: { per: 'megapixel', firstUsd: 0.012, extraUsd: 0.012 } },
  'flux-pro': { preview: 0.055 },
  'flux-1.1-pro': { preview: 0.04 },
  'flux-1.1-pro-ultra': { preview: 0.06 },
  'flux-dev': { preview: 0.025 },
  'flux-schnell': { preview: 0.003 },
};

/** A deterministic mix: models without a required reference image, their ratios, and custom sizes where allowed. */
function requestOf(i: number): FluxRequest {
  const models = MODEL_IDS.filter((m) => !MODELS[m].images?.required);
  const model = models[i % models.length] as ModelId;
  const spec = MODELS[model];
  const ratios = spec.aspectRatios.filter((r) => (ASPECT_RATIOS as readonly string[]).includes(r));
  const ratio = ratios[(i * 7) % ratios.length]!;
  const input: Record<string, unknown> = { prompt: `bench ${i}`, model, output_format: 'png', seed: i };
  if (ratio === 'custom' && spec.customSize) {
    const side = (n: number) => spec.customSize!.min + ((n * 97) % (spec.customSize!.max - spec.customSize!.min));
    Object.assign(input, { width: side(i), height: side(i * 3 + 1) });
    const px = (input.width as number) * (input.height as number);
    if (spec.customSize.maxPixels && px > spec.customSize.maxPixels) Object.assign(input, { width: 1024, height: 1536 });
  } else {
    input.aspect_ratio = ratio;
  }
  const parsed = parseFluxRequest(input);
  if (!parsed.ok) throw parsed.error;
  return parsed.request;
}

async function main(): Promise<void> {
  const prefix = `{fbbench-cost-${randomUUID().slice(0, 8)}}`;
  const prices = new PriceTable(OVERRIDES);
  let metricUsd = 0;
  const core = new FluxbotCore({
    redisUrl: REDIS,
    logger: pino({ level: 'silent' }),
    prefix,
    quotas: { dailyPerUser: 100_000, concurrentPerUser: 100_000, dailyPerGuild: 1_000_000, concurrentPerGuild: 1_000_000, guildMonthlyBudget: toMicros(10_000) },
    prices,
    pricedProviders: ['preview'],
    metrics: { ...noMetrics, spend: (_p, _m, usd) => void (metricUsd += usd) },
  });
  await core.ready();
  const delivery = new MemoryDelivery();
  await core.createWorker({ providers: [new PreviewProvider()], deliveries: { discord: delivery }, concurrency: 50 }).start();

  const guilds = ['g1', 'g2', 'g3', 'g4'];
  let expected = 0;
  const started = Date.now();
  for (let batch = 0; batch < JOBS; batch += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, JOBS - batch) }, async (_, k) => {
        const i = batch + k;
        const request = requestOf(i);
        expected += prices.cost(request.model, 'preview', { width: request.width, height: request.height }) ?? 0;
        const requester: Requester = { platform: 'discord', guildId: guilds[i % guilds.length]!, userId: `u${i % 37}` };
        const result = await core.service.submit(request, requester, { platform: 'discord', channelId: 'c1' }, { dedupeKey: `cost-${i}` });
        if (result.status !== 'queued') throw new Error(`job ${i} not queued: ${JSON.stringify(result)}`);
      }),
    );
  }
  await delivery.until(() => delivery.recorded.length >= JOBS, 600_000);
  const elapsedMs = Date.now() - started;

  const keys = new QuotaKeys(prefix);
  const month = (await core.admin.budget('discord:g1')).month;
  // Settlement is the last write of a job; give the final ones a moment.
  const monthTotal = async () => Number((await core.redis.hget(keys.totalMonth(month), 'spent')) ?? 0);
  for (let i = 0; i < 100 && (await monthTotal()) !== expected; i++) await new Promise((r) => setTimeout(r, 50));
  const total = await monthTotal();
  let byServers = 0;
  for (const g of guilds) byServers += (await core.admin.budget(`discord:${g}`)).spentThisMonth;
  let byRecords = 0;
  for (const d of delivery.delivered) byRecords += d.costMicros ?? 0;
  const cents = (micros: number) => Math.round(micros / 10_000);
  const out = {
    jobs: JOBS,
    delivered: delivery.recorded.length,
    elapsedMs,
    priceTableUsd: expected / 1e6,
    accountedMonthTotalUsd: total / 1e6,
    accountedServersUsd: byServers / 1e6,
    deliveredImagesUsd: byRecords / 1e6,
    spendMetricUsd: Math.round(metricUsd * 1e6) / 1e6,
    agreeToTheCent: cents(total) === cents(expected) && cents(byServers) === cents(expected) && cents(byRecords) === cents(expected) && cents(toMicros(metricUsd)) === cents(expected),
    exactMicros: total === expected && byServers === expected && byRecords === expected,
  };
  console.log(JSON.stringify(out, null, 2));
  await core.close(5000);
  await dropPrefix(prefix, REDIS);
  if (!out.agreeToTheCent) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
