import type { ProviderName } from '../../src/core/models.js';
import type { GenerateOptions, GeneratedImage, ImageProvider } from '../../src/core/providers/provider.js';
import { PreviewProvider } from '../../src/core/providers/preview/preview-provider.js';
import type { FluxRequest } from '../../src/core/request.js';

export type Step = Error | 'ok' | { hangMs: number };

/**
 * A provider port fake for queue tests: each call takes the next scripted step (throw this error, succeed, or take
 * this long), drawing real images with the preview renderer. Records every call with its options.
 */
export class ScriptedProvider implements ImageProvider {
  readonly calls: Array<{ request: FluxRequest; resumed: string | undefined; at: number }> = [];
  private readonly inner = new PreviewProvider();
  private n = 0;

  constructor(
    readonly name: ProviderName,
    private readonly steps: Step[] = [],
  ) {}

  async generate(request: FluxRequest, options: GenerateOptions = {}): Promise<GeneratedImage> {
    this.calls.push({ request, resumed: options.resume?.id, at: Date.now() });
    const id = options.resume?.id ?? `${this.name}-${++this.n}`;
    if (!options.resume) await options.checkpoint?.({ provider: this.name, id });
    const step = this.steps.shift() ?? 'ok';
    if (step instanceof Error) throw step;
    if (step !== 'ok') {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, step.hangMs);
        options.signal?.addEventListener('abort', () => {
          clearTimeout(t);
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
        });
      });
    }
    const image = await this.inner.generate(request);
    return { ...image, provider: this.name, predictionId: id };
  }
}
