import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CATALOGUE, type PriceRule } from './catalogue/index.js';
import { MODEL_IDS, PROVIDER_NAMES, type ModelId, type ProviderName } from './models.js';

/**
 * What images cost: the catalogue's price per model and provider, the operator's overrides (`PRICES_FILE`), and the
 * arithmetic. Money is counted in integer micro-dollars (millionths of a US dollar) everywhere it is added up (Redis
 * counters, budgets, the spend metric's source): sums of floats drift, sums of integers agree to the cent with the
 * price table however many jobs are added.
 */

/** Integer millionths of a US dollar. */
export type Micros = number;

/** One megapixel as FLUX.2's price counts it: 1024 × 1024 pixels; a started one counts whole. */
export const MEGAPIXEL = 1024 * 1024;

/**
 * An input image whose size is not known when a job is admitted (a reroll of an edit: its links are not fetched
 * again) is estimated at this many megapixels, the most FLUX.2 takes; the job settles to the real figure.
 */
export const UNKNOWN_INPUT_MEGAPIXELS = 4;

export function toMicros(usd: number): Micros {
  return Math.round(usd * 1_000_000);
}

export function toUsd(micros: Micros): number {
  return micros / 1_000_000;
}

/** `$0.045`, `$0.03`, `$12.50`: at least two decimals, up to four, trailing zeros past the cents dropped. */
export function formatUsd(micros: Micros): string {
  const sign = micros < 0 ? '-' : '';
  const text = (Math.abs(micros) / 1_000_000).toFixed(4).replace(/(\.\d\d\d*?)0+$/, '$1');
  return `${sign}$${text}`;
}

/** A pixel size. */
export interface Size {
  width: number;
  height: number;
}

/** Megapixels as FLUX.2 bills them: started ones count whole, at least one. */
export function billedMegapixels(size: Size): number {
  return Math.max(1, Math.ceil((size.width * size.height) / MEGAPIXEL));
}

/**
 * The cost of one image under a rule: a flat price, or FLUX.2's first output megapixel, each further output
 * megapixel and every input megapixel. `inputs` entries that are `undefined` are unknown sizes (see
 * UNKNOWN_INPUT_MEGAPIXELS).
 */
export function costOf(rule: PriceRule, output: Size, inputs: ReadonlyArray<Size | undefined> = []): Micros {
  if (rule.per === 'image') return toMicros(rule.usd);
  const first = toMicros(rule.firstUsd);
  const extra = toMicros(rule.extraUsd);
  let megapixels = billedMegapixels(output) - 1;
  for (const input of inputs) megapixels += input === undefined ? UNKNOWN_INPUT_MEGAPIXELS : billedMegapixels(input);
  return first + extra * megapixels;
}

/** A rule as the operator writes it: a number is a flat price per image. */
const RuleSchema = z.union([
  z.number().nonnegative().finite(),
  z.strictObject({ per: z.literal('image'), usd: z.number().nonnegative().finite() }),
  z.strictObject({ per: z.literal('megapixel'), firstUsd: z.number().nonnegative().finite(), extraUsd: z.number().nonnegative().finite() }),
]);

/** `PRICES_FILE`: `{ "<model>": { "<provider>": 0.05 | { "per": "megapixel", "firstUsd": 0.03, "extraUsd": 0.015 } } }`. */
export const PriceOverridesSchema = z.partialRecord(z.enum(MODEL_IDS), z.partialRecord(z.enum(PROVIDER_NAMES), RuleSchema));
export type PriceOverrides = z.infer<typeof PriceOverridesSchema>;

/** Reads and checks a `PRICES_FILE`; the error names the file and the first bad entry. */
export function loadPriceOverrides(path: string): PriceOverrides {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`PRICES_FILE ${path}: ${(err as Error).message}`, { cause: err });
  }
  const parsed = PriceOverridesSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || '(top)';
    const message = issue?.code === 'unrecognized_keys' ? `unknown model ${issue.keys.join(', ')} (see fluxbot models)` : (issue?.message ?? 'invalid');
    throw new Error(`PRICES_FILE ${path}: ${where}: ${message}`);
  }
  // A price for a provider that does not serve the model would never apply: say so instead of ignoring it.
  for (const [model, byProvider] of Object.entries(parsed.data) as Array<[ModelId, Record<string, unknown>]>) {
    for (const provider of Object.keys(byProvider) as ProviderName[]) {
      if (CATALOGUE[model].providers[provider] === undefined) throw new Error(`PRICES_FILE ${path}: ${model}.${provider}: ${provider} does not serve ${model}`);
    }
  }
  return parsed.data;
}

/** The price table the bot accounts with: the catalogue's prices, with the operator's overrides on top. */
export class PriceTable {
  constructor(private readonly overrides: PriceOverrides = {}) {}

  /** The rule for a model on a provider; undefined when the provider does not serve the model. */
  rule(model: ModelId, provider: ProviderName): PriceRule | undefined {
    const mapping = CATALOGUE[model].providers[provider];
    if (mapping === undefined) return undefined;
    const override = this.overrides[model]?.[provider];
    if (override === undefined) return mapping.price;
    return typeof override === 'number' ? { per: 'image', usd: override } : override;
  }

  /** The cost of one image of `model` on `provider` at `output` from `inputs`; undefined when it is not served. */
  cost(model: ModelId, provider: ProviderName, output: Size, inputs: ReadonlyArray<Size | undefined> = []): Micros | undefined {
    const rule = this.rule(model, provider);
    return rule === undefined ? undefined : costOf(rule, output, inputs);
  }

  /**
   * What a made image cost, as a job settles it: the provider's own figure when it reports a sane one (BFL), else this
   * table's for the provider that made it. 0 when neither knows.
   */
  settled(model: ModelId, provider: ProviderName, output: Size, inputs: ReadonlyArray<Size | undefined>, reportedUsd?: number): Micros {
    if (reportedUsd !== undefined && Number.isFinite(reportedUsd) && reportedUsd >= 0) return toMicros(reportedUsd);
    return this.cost(model, provider, output, inputs) ?? 0;
  }

  /**
   * What admission reserves for one image: the most it may cost on any of `providers` that serves the model (a job
   * may fail over to a dearer one), so a budget is never spent past. 0 when none serves it (the job will fail and be
   * refunded anyway).
   */
  estimate(model: ModelId, providers: readonly ProviderName[], output: Size, inputs: ReadonlyArray<Size | undefined> = []): Micros {
    let most = 0;
    for (const provider of providers) most = Math.max(most, this.cost(model, provider, output, inputs) ?? 0);
    return most;
  }
}
