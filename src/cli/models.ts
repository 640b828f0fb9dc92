import { Command } from 'commander';
import type { Config } from '../config.js';
import type { PriceRule } from '../core/catalogue/index.js';
import { MODEL_IDS, MODELS, PROVIDER_NAMES, pixelSize, type ModelId, type ProviderName } from '../core/models.js';
import { formatUsd, PriceTable, toMicros } from '../core/prices.js';
import { requestCost, routeNames, type RoutedRequest } from '../core/providers/routing.js';
import { common, emit, settings, type CliIo } from './common.js';

/** One model on one provider, as `fluxbot models --json` prints it (one object per line). */
export interface ModelRow {
  model: ModelId;
  label: string;
  /** Reference images the model takes (0: none) and whether it needs one. */
  images: { max: number; required: boolean };
  provider: ProviderName;
  /** Listed in PROVIDERS: the bot uses it. */
  configured: boolean;
  /** Configured and able to take this model (a Cog container serves only COG_MODEL when that is set). */
  serves: boolean;
  price: PriceRule;
  /** `$0.055/image`, `$0.03 + $0.015/MP`. */
  priceText: string;
  /** The price comes from PRICES_FILE. */
  overridden: boolean;
  /** Where a job for this model tries this provider (1 first) at the default size without reference images. */
  position: number | null;
}

/** `$0.055/image`, or FLUX.2's `$0.03 + $0.015/MP` (the first megapixel, then each further one and each input one). */
export function priceText(rule: PriceRule): string {
  if (rule.per === 'image') return `${formatUsd(toMicros(rule.usd))}/image`;
  return `${formatUsd(toMicros(rule.firstUsd))} + ${formatUsd(toMicros(rule.extraUsd))}/MP`;
}

/** Every model × every provider that the catalogue maps it on, with the effective price and the failover position. */
export function modelRows(config: Config): ModelRow[] {
  const prices = new PriceTable(config.PRICE_OVERRIDES);
  const rows: ModelRow[] = [];
  for (const model of MODEL_IDS) {
    const spec = MODELS[model];
    // The order depends on the size and the reference images; the model's default size without any is the common case.
    const request: RoutedRequest = { model, ...pixelSize(model, spec.defaultAspectRatio) };
    const serving = routeNames(request, config, prices).filter((name) => requestCost(request, name, config, prices) !== undefined);
    for (const provider of PROVIDER_NAMES) {
      const price = prices.rule(model, provider);
      if (price === undefined) continue;
      const position = serving.indexOf(provider);
      rows.push({
        model,
        label: spec.label,
        images: { max: spec.images?.max ?? 0, required: spec.images?.required ?? false },
        provider,
        configured: config.PROVIDERS.includes(provider),
        serves: position >= 0,
        price,
        priceText: priceText(price),
        overridden: config.PRICE_OVERRIDES[model]?.[provider] !== undefined,
        position: position >= 0 ? position + 1 : null,
      });
    }
  }
  return rows;
}

function imagesText(images: ModelRow['images']): string {
  if (images.max === 0) return 'no reference images';
  const count = images.required ? `1 to ${images.max}` : `up to ${images.max}`;
  return `${count} reference image${images.max === 1 ? '' : 's'}${images.required ? ' (needs one)' : ''}`;
}

/** The text form: a header on the providers and prices, then one block per model with its providers in failover order. */
export function modelLines(config: Config, rows: readonly ModelRow[]): string[] {
  const known = PROVIDER_NAMES.filter((name) => !config.PROVIDERS.includes(name));
  const lines = [
    `providers: ${config.PROVIDERS.join(', ')} (PROVIDERS, routing: ${config.PROVIDER_ROUTING})${known.length ? `; also known: ${known.join(', ')}` : ''}`,
    `prices: the catalogue's${config.PRICES_FILE ? `, * from PRICES_FILE ${config.PRICES_FILE}` : ''}; numbers: failover order at the default size`,
  ];
  const width = Math.max(...PROVIDER_NAMES.map((name) => name.length));
  const priceWidth = Math.max(...rows.map((r) => r.priceText.length + (r.overridden ? 2 : 0)));
  for (const model of MODEL_IDS) {
    const own = rows.filter((r) => r.model === model);
    const first = own[0];
    if (!first) continue;
    lines.push('', `${model}  ${first.label}, ${imagesText(first.images)}`);
    // Serving providers in failover order, then the others in the catalogue's order.
    const sorted = [...own].sort((a, b) => (a.position ?? Infinity) - (b.position ?? Infinity));
    if (!sorted.some((r) => r.serves)) lines.push('  (no configured provider serves it)');
    for (const r of sorted) {
      const note = r.serves ? '' : r.configured ? `  not served (COG_MODEL is ${config.COG_MODEL ?? 'unset'})` : '  not configured';
      const price = `${r.priceText}${r.overridden ? ' *' : ''}`;
      lines.push(`  ${r.position === null ? ' ' : String(r.position)}  ${r.provider.padEnd(width)}  ${note ? price.padEnd(priceWidth) : price}${note}`);
    }
  }
  return lines;
}

/** `fluxbot models`: the catalogue as model × provider × price, with the operator's prices and providers applied. */
export function modelsCommand(version: string, io: CliIo): Command {
  return common(new Command('models'), version)
    .description('list the models, the providers that serve each (configured or not) and their prices, PRICES_FILE applied')
    .action((o: { json?: boolean }) => {
      const config = settings();
      const rows = modelRows(config);
      if (o.json) for (const row of rows) emit(io, true, row, () => []);
      else emit(io, false, rows, () => modelLines(config, rows));
    });
}
