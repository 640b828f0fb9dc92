import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FalFake } from '../fakes/fal-fake.js';
import { ReplicateFake } from '../fakes/replicate-fake.js';
import { fluxbotCli } from '../helpers/run-program.js';

let replicate: ReplicateFake;
let fal: FalFake;
let dir: string;
let prices: string;

beforeAll(async () => {
  [replicate, fal] = await Promise.all([ReplicateFake.start(), FalFake.start()]);
  dir = await mkdtemp(join(tmpdir(), 'fluxbot routing-'));
  prices = join(dir, 'prices.json');
  // fal is the cheaper one for flux-pro; PROVIDERS lists replicate first.
  await writeFile(prices, JSON.stringify({ 'flux-pro': { replicate: 0.06, fal: 0.03 } }));
});
afterAll(async () => {
  await Promise.all([replicate.close(), fal.close()]);
  await rm(dir, { recursive: true, force: true });
});

function generate(routing: string, out: string) {
  return fluxbotCli(['generate', '--json', '--prompt', 'a lighthouse', '--model', 'flux-pro', '--out', join(dir, out)], {
    REPLICATE_API_TOKEN: replicate.token,
    REPLICATE_API_URL: replicate.baseUrl,
    FAL_KEY: fal.key,
    FAL_QUEUE_URL: fal.url,
    PROVIDERS: 'replicate,fal',
    PROVIDER_ROUTING: routing,
    PRICES_FILE: prices,
    ALLOW_PRIVATE_URLS: 'true',
  }, dir);
}

describe('fluxbot generate follows PROVIDER_ROUTING', () => {
  it('order: the first provider in PROVIDERS; cheapest: the cheapest by PRICES_FILE', { timeout: 120_000 }, async () => {
    const ordered = await generate('order', 'ordered.webp');
    expect([ordered.code, ordered.stderr]).toEqual([0, '']);
    expect(JSON.parse(ordered.stdout)).toMatchObject({ provider: 'replicate', model: 'flux-pro' });
    expect([replicate.created, fal.created]).toEqual([1, 0]);

    const cheapest = await generate('cheapest', 'cheapest.webp');
    expect([cheapest.code, cheapest.stderr]).toEqual([0, '']);
    expect(JSON.parse(cheapest.stdout)).toMatchObject({ provider: 'fal', model: 'flux-pro' });
    expect([replicate.created, fal.created]).toEqual([1, 1]);
  });
});
