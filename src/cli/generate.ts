import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import { FluxError, toFluxError } from '../core/errors.js';
import { PROVIDER_NAMES, type ProviderName } from '../core/models.js';
import type { ProviderCheckpoint } from '../core/providers/provider.js';
import { createProvider } from '../core/providers/registry.js';
import { decideRetry } from '../core/queue/retry-policy.js';
import { parseFluxRequest, type FluxRequestInput } from '../core/request.js';

export const GENERATE_USAGE = `Usage: fluxbot generate --prompt "..." --out FILE [options]

Runs one generation through the same core as the bot and writes the image to FILE.
  --model M             ${'flux-pro, flux-1.1-pro, flux-1.1-pro-ultra, flux-dev, flux-schnell'} (default FLUX_MODEL)
  --provider P          one of ${PROVIDER_NAMES.join(', ')} (default: PROVIDERS, in failover order)
  --aspect-ratio R      e.g. 16:9, or custom with --width and --height
  --width N --height N  custom size, rounded to multiples of 32
  --seed N --steps N --guidance X --interval X --safety-tolerance N
  --image-prompt URL    --prompt-upsampling   --output-format webp|jpg|png   --output-quality N`;

export interface GenerateDeps {
  /** Where progress notes go (a rate-limit wait); stderr by default, so stdout stays one JSON line. */
  note?: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * `fluxbot generate`: prints a one-line JSON summary, or the typed error's message and exit code 1. A 429 is waited out
 * as the worker does (the provider's Retry-After, else a backoff; no attempt spent, the prediction resumed when one
 * exists); other failures another provider may not have move on to the next provider.
 */
export async function generateCommand(argv: string[], config: Config, out: (line: string) => void, deps: GenerateDeps = {}): Promise<number> {
  const note = deps.note ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const pause = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const { values } = parseArgs({
    args: argv,
    options: {
      prompt: { type: 'string' },
      model: { type: 'string' },
      provider: { type: 'string' },
      'aspect-ratio': { type: 'string' },
      width: { type: 'string' },
      height: { type: 'string' },
      seed: { type: 'string' },
      steps: { type: 'string' },
      guidance: { type: 'string' },
      interval: { type: 'string' },
      'safety-tolerance': { type: 'string' },
      'image-prompt': { type: 'string' },
      'prompt-upsampling': { type: 'boolean' },
      'output-format': { type: 'string' },
      'output-quality': { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
  });
  if (!values.out) throw new FluxError('invalid_input', '--out FILE is required', '--out FILE is required', false);
  const num = (v: string | undefined) => (v === undefined ? undefined : v.trim() === '' ? Number.NaN : Number(v));
  const input: Record<string, unknown> = {
    prompt: values.prompt,
    model: values.model,
    aspect_ratio: values['aspect-ratio'],
    width: num(values.width),
    height: num(values.height),
    seed: num(values.seed),
    steps: num(values.steps),
    guidance: num(values.guidance),
    interval: num(values.interval),
    safety_tolerance: num(values['safety-tolerance']),
    image_prompt: values['image-prompt'],
    prompt_upsampling: values['prompt-upsampling'],
    output_format: values['output-format'],
    output_quality: num(values['output-quality']),
  };
  for (const k of Object.keys(input)) if (input[k] === undefined) delete input[k];
  const parsed = parseFluxRequest(input as FluxRequestInput, { defaultModel: config.FLUX_MODEL, allowPrivateImageLinks: config.ALLOW_PRIVATE_URLS });
  if (!parsed.ok) throw parsed.error;

  let names: ProviderName[] = [...config.PROVIDERS];
  if (values.provider !== undefined) {
    if (!(PROVIDER_NAMES as readonly string[]).includes(values.provider)) {
      throw new FluxError('invalid_input', `unknown provider ${values.provider}`, `--provider must be one of ${PROVIDER_NAMES.join(', ')}`, false);
    }
    names = [values.provider as ProviderName];
  }
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
        const image = await provider.generate(parsed.request, {
          checkpoint: (saved) => void (checkpoint = saved),
          ...(checkpoint ? { resume: checkpoint } : {}),
        });
        await writeFile(values.out, image.bytes);
        out(
          JSON.stringify({
            provider: image.provider,
            model: parsed.request.model,
            seed: image.seed,
            width: image.width,
            height: image.height,
            format: image.format,
            bytes: image.bytes.length,
            ms: Date.now() - started,
            predictionId: image.predictionId,
            nsfw: image.nsfw,
          }),
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
        note(`${name} is rate limiting; waiting ${Math.ceil(decision.delayMs / 1000)} s before trying again`);
        await pause(decision.delayMs);
      }
    }
    // Try the next provider only for problems another provider may not have.
    if (!['unsupported', 'unauthorized', 'out_of_credits', 'unavailable', 'timeout', 'rate_limited'].includes(lastError.code)) break;
  }
  throw lastError ?? new FluxError('unavailable', 'no provider configured', 'No provider is configured.', false);
}
