import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { inspectImage } from '../../images/image.js';
import type { MemberLinkGuard } from '../../images/member-links.js';
import type { FluxRequest } from '../../request.js';
import { sleep } from '../http.js';
import type { GenerateOptions, GeneratedImage, ImageProvider } from '../provider.js';
import { thumbnailOverlays, type ThumbnailOptions } from './thumbnails.js';

export interface PreviewProviderOptions {
  /** Simulated generation time, for trying the queue's behaviour and for load benchmarks. Default 0. */
  latencyMs?: number;
  /**
   * The guard for members' reference image links, drawn as thumbnails (`allowPrivate` is `ALLOW_PRIVATE_URLS`);
   * default: public addresses only.
   */
  imageGuard?: MemberLinkGuard;
  fetch?: typeof fetch;
}

/**
 * An offline provider that draws a labelled placeholder (prompt, seed, model and size visible, marked PREVIEW) at the
 * requested size and format. It lets people try the bot without an API key and lets benchmarks load the pipeline
 * without a paid API; its output is never presented as FLUX output. Reference images are drawn as thumbnails along
 * the bottom (see thumbnails.ts), so editing can be tried offline too.
 */
export class PreviewProvider implements ImageProvider {
  readonly name = 'preview' as const;
  private readonly latencyMs: number;
  private readonly thumbnails: ThumbnailOptions;

  constructor(options: PreviewProviderOptions = {}) {
    this.latencyMs = options.latencyMs ?? 0;
    this.thumbnails = { ...(options.imageGuard ? { guard: options.imageGuard } : {}), ...(options.fetch ? { fetch: options.fetch } : {}) };
  }

  async generate(request: FluxRequest, options: GenerateOptions = {}): Promise<GeneratedImage> {
    const started = Date.now();
    // Drawing is deterministic in the request, so resuming simply draws again under the checkpointed id.
    const id = options.resume?.id ?? `preview-${randomUUID()}`;
    if (!options.resume) await options.checkpoint?.({ provider: 'preview', id });
    options.onProgress?.({ state: 'running', fraction: 0 });
    if (this.latencyMs > 0) await sleep(this.latencyMs, options.signal);
    await options.imageSlot?.();
    const bytes = await renderPlaceholder(request, { ...this.thumbnails, ...(options.signal ? { signal: options.signal } : {}) });
    const image = await inspectImage(bytes);
    return {
      ...image,
      seed: request.seed,
      provider: 'preview',
      predictionId: id,
      nsfw: false,
      ms: Date.now() - started,
    };
  }
}

export async function renderPlaceholder(request: FluxRequest, thumbnails: ThumbnailOptions = {}): Promise<Buffer> {
  const { width, height } = request;
  const references = request.images ?? [];
  const hue = request.seed % 360;
  const font = Math.max(12, Math.round(Math.min(width, height) / 22));
  const lines = wrap(request.prompt, Math.max(10, Math.floor((width * 0.9) / (font * 0.55)))).slice(0, 8);
  const text = [
    `<text x="5%" y="${font * 2}" font-size="${font * 1.4}" font-weight="bold">PREVIEW · not FLUX output</text>`,
    `<text x="5%" y="${font * 3.6}" font-size="${font}">${escapeXml(`${request.model} · seed ${request.seed} · ${width}×${height}${describe(references.length)}`)}</text>`,
    ...lines.map((line, i) => `<text x="5%" y="${font * (5.6 + i * 1.3)}" font-size="${font}">${escapeXml(line)}</text>`),
  ].join('');
  const svg = `<svg width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">
<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">
<stop offset="0" stop-color="hsl(${hue},55%,35%)"/><stop offset="1" stop-color="hsl(${(hue + 90) % 360},55%,20%)"/>
</linearGradient></defs>
<rect width="100%" height="100%" fill="url(#g)"/>
<g font-family="DejaVu Sans, sans-serif" fill="#ffffff">${text}</g></svg>`;
  let img = sharp(Buffer.from(svg));
  if (references.length > 0) img = img.composite(await thumbnailOverlays(references, width, height, thumbnails));
  const quality = request.output_quality ?? 80;
  switch (request.output_format) {
    case 'png':
      return img.png().toBuffer();
    case 'jpg':
      return img.jpeg({ quality: Math.max(1, quality) }).toBuffer();
    case 'webp':
      return img.webp({ quality: Math.max(1, quality) }).toBuffer();
  }
}

function describe(references: number): string {
  if (references === 0) return '';
  return ` · ${references} reference image${references === 1 ? '' : 's'}`;
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    const chunk = word.length > width ? word.slice(0, width - 1) + '…' : word;
    if ((line + ' ' + chunk).trim().length > width) {
      out.push(line.trim());
      line = chunk;
    } else line += ' ' + chunk;
  }
  if (line.trim()) out.push(line.trim());
  return out;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}
