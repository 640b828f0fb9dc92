import { constants } from 'node:fs';
import { access, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { Command, Option } from 'commander';
import type { Config } from '../config.js';
import { FluxError, toFluxError } from '../core/errors.js';
import { checkReferenceImage } from '../core/images/image.js';
import { checkReferenceImages, refusal } from '../core/images/reference-images.js';
import { DEFAULT_MODEL, INPUT_ASPECT_RATIOS, FIELD_RANGES, MODEL_IDS, OUTPUT_FORMATS, PROVIDER_NAMES, type ProviderName } from '../core/models.js';
import type { ProviderCheckpoint } from '../core/providers/provider.js';
import { formatUsd, PriceTable, toMicros, toUsd } from '../core/prices.js';
import { createProvider } from '../core/providers/registry.js';
import { routeNames } from '../core/providers/routing.js';
import { decideRetry } from '../core/queue/retry-policy.js';
import { matchInputImage, parseFluxRequest, type FluxRequestInput } from '../core/request.js';
import { CliExit, common, emit, settings, type CliIo } from './common.js';

/** The options as commander hands them over; numbers stay text until the request schema checks them per model. */
export interface GenerateOptions {
  prompt: string;
  out: string;
  model?: string;
  provider?: string;
  aspectRatio?: string;
  width?: string;
  height?: string;
  seed?: string;
  steps?: string;
  guidance?: string;
  interval?: string;
  safetyTolerance?: string;
  imagePrompt?: string;
  imagePromptStrength?: string;
  /** `--image`, repeated: local files or http(s) links, in order. */
  image?: string[];
  promptUpsampling?: boolean;
  raw?: boolean;
  outputFormat?: string;
  outputQuality?: string;
  json?: boolean;
}

export interface GenerateDeps {
  sleep?: (ms: number) => Promise<void>;
}

const range = (name: keyof typeof FIELD_RANGES, what: string) => {
  const r = FIELD_RANGES[name];
  return `${what} (${r.min} to ${r.max}, default ${r.default}; some models allow less)`;
};

/** `fluxbot generate`: one generation through the same core as the bot, written to `--out`. */
export function generateCommand(version: string, io: CliIo, deps: GenerateDeps = {}): Command {
  return common(new Command('generate'), version)
    .description('run one generation through the same providers as the bot and write the image to a file')
    .requiredOption('--prompt <text>', 'what to draw')
    .requiredOption('--out <file>', 'where to write the image (checked writable before anything is paid for)')
    .addOption(new Option('--model <model>', `the FLUX model (default: FLUX_MODEL, ${DEFAULT_MODEL} unless set)`).choices(MODEL_IDS))
    .addOption(new Option('--provider <name>', 'only this provider (default: PROVIDERS, in the PROVIDER_ROUTING order)').choices(PROVIDER_NAMES))
    .addOption(new Option('--aspect-ratio <ratio>', "the image's shape (default: the model's, 1:1 for most)").choices(INPUT_ASPECT_RATIOS))
    .option('--width <px>', `${range('width', 'custom width, rounded to the model’s multiple (32 for FLUX.1, 16 for FLUX.2)')}`)
    .option('--height <px>', `${range('height', 'custom height, rounded to the model’s multiple (32 for FLUX.1, 16 for FLUX.2)')}`)
    .option('--seed <n>', `the same seed and input give the same image (0 to ${FIELD_RANGES.seed.max}; default random)`)
    .option('--steps <n>', range('steps', 'diffusion steps'))
    .option('--guidance <x>', range('guidance', 'how closely to follow the prompt'))
    .option('--interval <x>', range('interval', 'variance (flux-pro)'))
    .option('--safety-tolerance <n>', range('safety_tolerance', '1 strictest, 6 most permissive'))
    .option(
      '--image <file-or-url>',
      'an image to edit or combine (FLUX.2, Kontext; on a FLUX.1 model with an image prompt, that prompt): a PNG, JPEG, WebP or GIF file (up to 10 MB) or an http(s) link; repeat for more, in order',
      (value: string, list: string[]) => [...list, value],
      [] as string[],
    )
    .option('--image-prompt <url>', 'an image to start from (http(s) link)')
    .option('--image-prompt-strength <x>', range('image_prompt_strength', 'how much the image prompt counts (ultra)'))
    .option('--prompt-upsampling', 'let the provider expand the prompt')
    .option('--raw', 'a less processed, more natural look (ultra)')
    .addOption(new Option('--output-format <format>', 'image format (default webp)').choices(OUTPUT_FORMATS))
    .option('--output-quality <n>', range('output_quality', 'jpg/webp quality'))
    .action(async (o: GenerateOptions) => {
      process.exitCode = await generate(o, settings(), io, deps);
    });
}

/**
 * The `--image` values as the request takes them: links as given, local files read and checked (an image, at most
 * 10 MB, sides 64..8192 px, decodes) and sent inline as `data:` URIs of their real type. A file that is missing or no
 * image stops here, naming it, before any provider is called.
 */
export async function readImages(values: readonly string[]): Promise<{ sources: string[]; names: Array<string | undefined> }> {
  const sources: string[] = [];
  // Links are named by their last path segment where they are checked.
  const names: Array<string | undefined> = [];
  for (const [i, value] of values.entries()) {
    if (/^https?:\/\//i.test(value)) {
      sources.push(value);
      names.push(undefined);
      continue;
    }
    const label = { index: i + 1, name: basename(value) };
    const bytes = await readFile(value).catch((err: NodeJS.ErrnoException) => {
      throw new CliExit(`--image ${value}: ${err.code === 'ENOENT' ? 'no such file' : 'the file cannot be read'}`);
    });
    const image = await checkReferenceImage(bytes).catch((err: unknown) => {
      throw refusal(label, err instanceof Error ? err.message.replace(/^image invalid: /, '') : String(err), err);
    });
    sources.push(`data:${image.contentType};base64,${image.bytes.toString('base64')}`);
    names.push(label.name);
  }
  return { sources, names };
}

/** Refuses an `--out` that cannot be written before anything is paid for: a missing folder, a folder, no permission. */
export async function checkWritable(file: string): Promise<void> {
  const path = resolve(file);
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) throw new CliExit(`--out ${file} is a folder; give a file name`);
  const dir = dirname(path);
  const parent = await stat(dir).catch(() => undefined);
  if (!parent?.isDirectory()) throw new CliExit(`--out ${file}: the folder ${dir} does not exist`);
  try {
    await access(existing ? path : dir, constants.W_OK);
  } catch {
    throw new CliExit(`--out ${file} is not writable`);
  }
}

/**
 * Prints a summary (one JSON line with `--json`), or throws the typed error (exit 1). A 429 is waited out as the
 * worker does (the provider's Retry-After, else a backoff; no attempt spent, the prediction resumed when one exists);
 * failures another provider may not have move on to the next provider.
 */
export async function generate(o: GenerateOptions, config: Config, io: CliIo, deps: GenerateDeps = {}): Promise<number> {
  const pause = deps.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  const num = (v: string | undefined) => (v === undefined ? undefined : v.trim() === '' ? Number.NaN : Number(v));
  const input: Record<string, unknown> = {
    prompt: o.prompt,
    model: o.model,
    aspect_ratio: o.aspectRatio,
    width: num(o.width),
    height: num(o.height),
    seed: num(o.seed),
    steps: num(o.steps),
    guidance: num(o.guidance),
    interval: num(o.interval),
    safety_tolerance: num(o.safetyTolerance),
    image_prompt: o.imagePrompt,
    prompt_upsampling: o.promptUpsampling,
    raw: o.raw,
    image_prompt_strength: num(o.imagePromptStrength),
    output_format: o.outputFormat,
    output_quality: num(o.outputQuality),
  };
  for (const k of Object.keys(input)) if (input[k] === undefined) delete input[k];
  const images = await readImages(o.image ?? []);
  if (images.sources.length > 0) input.images = images.sources;
  const parsed = parseFluxRequest(input as FluxRequestInput, { defaultModel: config.FLUX_MODEL, allowPrivateImageLinks: config.ALLOW_PRIVATE_URLS });
  if (!parsed.ok) throw parsed.error;
  // The checks the bot runs at admission, before anything is paid for: links fetched (guarded) and checked too.
  const checked = await checkReferenceImages(parsed.request, { names: images.names, guard: { allowPrivate: config.ALLOW_PRIVATE_URLS } });
  const prices = new PriceTable(config.PRICE_OVERRIDES);
  // An edit's size follows its first image (match_input_image), now that its size is known.
  const request = matchInputImage(parsed.request, checked.sizes[0]);
  await checkWritable(o.out);

  // The bot's failover order for this request (PROVIDER_ROUTING), unless one provider is named.
  const names: ProviderName[] = o.provider ? [o.provider as ProviderName] : routeNames(request, config, prices);
  const started = Date.now();
  let lastError: FluxError | undefined;
  for (const [index, name] of names.entries()) {
    let provider;
    try {
      provider = createProvider(name, config);
    } catch (err) {
      lastError = new FluxError('unauthorized', (err as Error).message, `${name}: ${(err as Error).message}`, false);
      continue;
    }
    let checkpoint: ProviderCheckpoint | undefined;
    for (let rateLimitWaits = 0; ; rateLimitWaits++) {
      try {
        const image = await provider.generate(request, {
          checkpoint: (saved) => void (checkpoint = saved),
          ...(checkpoint ? { resume: checkpoint } : {}),
        });
        await writeFile(o.out, image.bytes);
        const summary = {
          provider: image.provider,
          model: request.model,
          seed: image.seed,
          width: image.width,
          height: image.height,
          format: image.format,
          bytes: image.bytes.length,
          ms: Date.now() - started,
          predictionId: image.predictionId,
          nsfw: image.nsfw,
          // US dollars, settled as the worker settles a job: the provider's own figure, else the price table's.
          costUsd: toUsd(prices.settled(request.model, image.provider, { width: request.width, height: request.height }, checked.sizes, image.costUsd)),
        };
        emit(io, o.json, summary, () =>
          [
            `wrote ${o.out}: ${summary.width}×${summary.height} ${summary.format}, ${summary.bytes} bytes`,
            `  ${summary.model} via ${summary.provider}, seed ${summary.seed}, ${summary.ms} ms, ${formatUsd(toMicros(summary.costUsd))}${summary.nsfw ? ', flagged NSFW' : ''}`,
          ],
        );
        return 0;
      } catch (err) {
        lastError = toFluxError(err);
        if (lastError.code !== 'rate_limited') break;
        const decision = decideRetry(lastError, { providerFailures: 0, rateLimitWaits, hasNextProvider: index < names.length - 1 });
        if (decision.action !== 'wait') {
          // The worker's limit on waits is spent: say so, not "will be retried shortly".
          lastError = new FluxError('rate_limited', lastError.message, `${name} is still rate limiting after ${rateLimitWaits} waits; try again later.`, true, {
            cause: lastError,
            provider: name,
          });
          break;
        }
        io.note(`${name} is rate limiting; waiting ${Math.ceil(decision.delayMs / 1000)} s before trying again`);
        await pause(decision.delayMs);
      }
    }
    // Try the next provider only for problems another provider may not have.
    if (!['unsupported', 'unauthorized', 'out_of_credits', 'unavailable', 'timeout', 'rate_limited'].includes(lastError.code)) break;
  }
  throw lastError ?? new FluxError('unavailable', 'no provider configured', 'No provider is configured.', false);
}
