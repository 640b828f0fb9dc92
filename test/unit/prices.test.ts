import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { billedMegapixels, costOf, formatUsd, loadPriceOverrides, PriceTable, toMicros } from '../../src/core/prices.js';

describe('prices', () => {
  it('formats dollars with at least two decimals, up to four', () => {
    expect([45_000, 30_000, 12_500_000, 3_000, 1_400, 0, -45_000].map(formatUsd)).toEqual(['$0.045', '$0.03', '$12.50', '$0.003', '$0.0014', '$0.00', '-$0.045']);
  });

  it('counts megapixels as FLUX.2 bills them: 1024 × 1024 is one, a started one counts whole', () => {
    expect(billedMegapixels({ width: 1024, height: 1024 })).toBe(1);
    expect(billedMegapixels({ width: 1440, height: 1440 })).toBe(2);
    expect(billedMegapixels({ width: 256, height: 256 })).toBe(1);
    expect(billedMegapixels({ width: 2048, height: 2048 })).toBe(4);
  });

  it('prices FLUX.2 per megapixel of output and input, FLUX.1 per image', () => {
    const rule = { per: 'megapixel', firstUsd: 0.03, extraUsd: 0.015 } as const;
    expect(costOf(rule, { width: 1024, height: 1024 })).toBe(toMicros(0.03));
    expect(costOf(rule, { width: 1024, height: 1024 }, [{ width: 1024, height: 1024 }])).toBe(toMicros(0.045));
    expect(costOf(rule, { width: 2048, height: 2048 }, [{ width: 1024, height: 1024 }, undefined])).toBe(toMicros(0.03 + 0.015 * (3 + 1 + 4)));
    expect(costOf({ per: 'image', usd: 0.055 }, { width: 2048, height: 2048 }, [undefined])).toBe(55_000);
  });

  it('the operator overrides the catalogue; the estimate is the dearest serving provider', () => {
    const table = new PriceTable({ 'flux-pro': { replicate: 0.07, preview: { per: 'image', usd: 0.01 } } });
    expect(table.rule('flux-pro', 'replicate')).toEqual({ per: 'image', usd: 0.07 });
    expect(table.rule('flux-pro', 'bfl')).toEqual({ per: 'image', usd: 0.05 });
    expect(table.cost('flux-pro', 'preview', { width: 1024, height: 1024 })).toBe(10_000);
    expect(table.estimate('flux-pro', ['preview', 'bfl', 'replicate'], { width: 1024, height: 1024 })).toBe(70_000);
    // schnell is not served by BFL: no price, no part in the estimate.
    expect(table.rule('flux-schnell', 'bfl')).toBeUndefined();
    expect(table.estimate('flux-schnell', ['bfl'], { width: 1024, height: 1024 })).toBe(0);
  });

  it("settles a made image at the provider's own figure when it reports a sane one, else at the table's", () => {
    const table = new PriceTable();
    const output = { width: 1024, height: 1024 };
    expect(table.settled('flux-2-pro', 'bfl', output, [output], 0.05)).toBe(50_000);
    expect(table.settled('flux-2-pro', 'bfl', output, [output])).toBe(45_000);
    expect(table.settled('flux-2-pro', 'bfl', output, [output], Number.NaN)).toBe(45_000);
    expect(table.settled('flux-2-pro', 'bfl', output, [output], -1)).toBe(45_000);
    expect(table.settled('flux-schnell', 'bfl', output, [])).toBe(0);
  });

  it('reads a PRICES_FILE and names the bad entry', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prices-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ 'flux-2-pro': { fal: { per: 'megapixel', firstUsd: 0.025, extraUsd: 0.01 } } }));
    expect(loadPriceOverrides(good)).toEqual({ 'flux-2-pro': { fal: { per: 'megapixel', firstUsd: 0.025, extraUsd: 0.01 } } });
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ 'flux-pro': { replicate: -1 } }));
    expect(() => loadPriceOverrides(bad)).toThrow(/PRICES_FILE .*bad\.json: flux-pro\.replicate/);
    writeFileSync(bad, JSON.stringify({ 'sdxl': { replicate: 0.1 } }));
    expect(() => loadPriceOverrides(bad)).toThrow(/PRICES_FILE .*bad\.json/);
    writeFileSync(bad, JSON.stringify({ 'flux-schnell': { bfl: 0.01 } }));
    expect(() => loadPriceOverrides(bad)).toThrow(/flux-schnell\.bfl: bfl does not serve flux-schnell/);
    writeFileSync(bad, '{ nope');
    expect(() => loadPriceOverrides(bad)).toThrow(/PRICES_FILE .*bad\.json: /);
  });
});
