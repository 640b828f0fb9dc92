import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../../src/core/errors.js';
import { MODEL_IDS, MODELS, pixelSize } from '../../src/core/models.js';
import { matchInputImage, parseFluxRequest, withNewSeed, type FluxRequest } from '../../src/core/request.js';

const seed = () => 1234;
// These cases were written against FLUX.1 [pro]'s schema: they name it as the default (FLUX_MODEL) unless they say
// otherwise; the bot's own default (flux-2-pro) is tested on its own below.
function ok(input: unknown, opts = {}): FluxRequest {
  const r = parseFluxRequest(input, { randomSeed: seed, defaultModel: 'flux-pro', ...opts });
  if (!r.ok) throw new Error(`expected ok, got ${r.error.message}`);
  return r.request;
}
function refused(input: unknown, opts = {}): InvalidInput {
  const r = parseFluxRequest(input, { randomSeed: seed, defaultModel: 'flux-pro', ...opts });
  if (r.ok) throw new Error(`expected refusal for ${JSON.stringify(input)}`);
  expect(r.error).toBeInstanceOf(InvalidInput);
  return r.error;
}

describe('FluxRequest defaults', () => {
  it('fills flux-pro defaults from the FLUX.1 [pro] schema', () => {
    expect(ok({ prompt: '  a lighthouse at dawn ' })).toEqual({
      prompt: 'a lighthouse at dawn',
      model: 'flux-pro',
      aspect_ratio: '1:1',
      width: 1024,
      height: 1024,
      seed: 1234,
      steps: 25,
      guidance: 3,
      interval: 2,
      safety_tolerance: 2,
      prompt_upsampling: false,
      output_format: 'webp',
      output_quality: 80,
    });
  });

  it('uses the configured default model and per-model defaults', () => {
    const dev = ok({ prompt: 'x' }, { defaultModel: 'flux-dev' });
    expect(dev).toMatchObject({ model: 'flux-dev', steps: 28, guidance: 3 });
    expect(dev).not.toHaveProperty('interval');
    expect(dev).not.toHaveProperty('prompt_upsampling');
    const schnell = ok({ prompt: 'x', model: 'flux-schnell' });
    expect(schnell).toMatchObject({ steps: 4 });
    expect(schnell).not.toHaveProperty('guidance');
    const ultra = ok({ prompt: 'x', model: 'flux-1.1-pro-ultra' });
    expect(ultra).toMatchObject({ aspect_ratio: '16:9', safety_tolerance: 2 });
    expect(ultra).not.toHaveProperty('output_quality');
  });

  it('keeps a given seed and picks a random one otherwise', () => {
    expect(ok({ prompt: 'x', seed: 7 }).seed).toBe(7);
    const a = parseFluxRequest({ prompt: 'x' });
    const b = parseFluxRequest({ prompt: 'x' });
    expect(a.ok && b.ok && a.request.seed !== b.request.seed).toBe(true);
    expect(withNewSeed(ok({ prompt: 'x', seed: 7 }), 9)).toMatchObject({ seed: 9, prompt: 'x' });
  });

  it('accepts every documented field at its bounds for flux-pro', () => {
    const r = ok({
      prompt: 'p',
      image_prompt: 'https://example.com/a.png',
      aspect_ratio: 'custom',
      width: 1440,
      height: 256,
      steps: 50,
      guidance: 5,
      interval: 4,
      safety_tolerance: 6,
      seed: 0,
      prompt_upsampling: true,
      output_format: 'png',
      output_quality: 100,
    });
    expect(r).toMatchObject({ width: 1440, height: 256, steps: 50, guidance: 5, interval: 4, safety_tolerance: 6, output_quality: 100 });
  });
});

describe('sizes', () => {
  it('rounds custom width and height to multiples of 32 as the API does', () => {
    expect(ok({ prompt: 'x', width: 1000, height: 1010 })).toMatchObject({ aspect_ratio: 'custom', width: 992, height: 1024 });
    expect(ok({ prompt: 'x', aspect_ratio: 'custom', width: 257, height: 1439 })).toMatchObject({ width: 256, height: 1440 });
  });

  it('knows the pixel size of every aspect ratio', () => {
    expect(ok({ prompt: 'x', aspect_ratio: '16:9' })).toMatchObject({ width: 1344, height: 768 });
    expect(ok({ prompt: 'x', aspect_ratio: '9:16' })).toMatchObject({ width: 768, height: 1344 });
    expect(ok({ prompt: 'x', model: 'flux-dev', aspect_ratio: '21:9' })).toMatchObject({ width: 1536, height: 640 });
    for (const model of MODEL_IDS) {
      for (const ratio of MODELS[model].aspectRatios) {
        if (ratio === 'custom') continue;
        const { width, height } = pixelSize(model, ratio);
        const [a, b] = ratio.split(':').map(Number) as [number, number];
        // FLUX.1 sizes are multiples of 32, FLUX.2's of 16.
        const step = MODELS[model].sizes.kind === 'area' ? MODELS[model].sizes.step : 32;
        expect(width % step).toBe(0);
        expect(height % step).toBe(0);
        expect(Math.abs(width / height - a / b)).toBeLessThan(0.1);
      }
    }
    const ultra = pixelSize('flux-1.1-pro-ultra', '1:1');
    expect(ultra).toEqual({ width: 2048, height: 2048 });
  });

  it('refuses width/height with a non-custom ratio, a half-given custom size, and sizes out of range', () => {
    expect(refused({ prompt: 'x', aspect_ratio: '16:9', width: 512 }).field).toBe('width');
    expect(refused({ prompt: 'x', aspect_ratio: 'custom', width: 512 }).message).toMatch(/both width and height/);
    expect(refused({ prompt: 'x', width: 2000, height: 512 }).message).toMatch(/width must be between 256 and 1440 for flux-pro/);
    expect(refused({ prompt: 'x', width: 100, height: 512 }).field).toBe('width');
    expect(refused({ prompt: 'x', model: 'flux-dev', width: 512, height: 512 }).message).toMatch(/not supported by flux-dev/);
    expect(refused({ prompt: 'x', model: 'flux-1.1-pro', aspect_ratio: '21:9' }).message).toMatch(/aspect_ratio must be one of/);
  });
});

describe('refusals name the field', () => {
  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['missing prompt', {}, 'prompt', /prompt is required/],
    ['empty prompt', { prompt: '   ' }, 'prompt', /must not be empty/],
    ['huge prompt', { prompt: 'a'.repeat(2001) }, 'prompt', /at most 2000/],
    ['control characters', { prompt: 'a\u0000b' }, 'prompt', /control characters/],
    ['bidi override', { prompt: 'a\u202eb' }, 'prompt', /control characters/],
    ['unknown model', { prompt: 'x', model: 'sdxl' }, 'model', /model must be one of/],
    ['bad aspect', { prompt: 'x', aspect_ratio: '7:3' }, 'aspect_ratio', /aspect_ratio must be one of/],
    ['steps above', { prompt: 'x', steps: 51 }, 'steps', /between 1 and 50/],
    ['steps fractional', { prompt: 'x', steps: 2.5 }, 'steps', /whole number/],
    ['steps string', { prompt: 'x', steps: '20' }, 'steps', /must be a number/],
    ['guidance for pro', { prompt: 'x', guidance: 6 }, 'guidance', /between 2 and 5 for flux-pro/],
    ['guidance NaN', { prompt: 'x', guidance: Number.NaN }, 'guidance', /number/],
    ['interval', { prompt: 'x', interval: 0.5 }, 'interval', /between 1 and 4/],
    ['safety', { prompt: 'x', safety_tolerance: 7 }, 'safety_tolerance', /between 1 and 6/],
    ['seed negative', { prompt: 'x', seed: -1 }, 'seed', /between 0 and/],
    ['quality', { prompt: 'x', output_quality: 101 }, 'output_quality', /between 0 and 100/],
    ['format', { prompt: 'x', output_format: 'gif' }, 'output_format', /webp, jpg, png/],
    ['upsampling type', { prompt: 'x', prompt_upsampling: 'yes' }, 'prompt_upsampling', /true or false/],
    ['image prompt scheme', { prompt: 'x', image_prompt: 'file:///etc/passwd' }, 'image_prompt', /http\(s\) link/],
    ['image prompt credentials', { prompt: 'x', image_prompt: 'https://u:p@example.com/a.png' }, 'image_prompt', /no credentials/],
    ['unknown option', { prompt: 'x', cfg: 3 }, 'cfg', /unknown option cfg/],
  ];
  it.each(cases)('%s', (_name, input, field, message) => {
    const err = refused(input);
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
  });

  it('refuses fields a model does not support, naming the field and the model', () => {
    const unsupported: Array<[string, string]> = [
      ['flux-1.1-pro', 'steps'],
      ['flux-1.1-pro', 'guidance'],
      ['flux-1.1-pro', 'interval'],
      ['flux-1.1-pro-ultra', 'prompt_upsampling'],
      ['flux-1.1-pro-ultra', 'output_quality'],
      ['flux-dev', 'interval'],
      ['flux-dev', 'safety_tolerance'],
      ['flux-dev', 'image_prompt'],
      ['flux-schnell', 'guidance'],
      ['flux-schnell', 'prompt_upsampling'],
    ];
    const values: Record<string, unknown> = {
      steps: 10,
      guidance: 3,
      interval: 2,
      prompt_upsampling: true,
      output_quality: 50,
      safety_tolerance: 2,
      image_prompt: 'https://example.com/a.png',
    };
    for (const [model, field] of unsupported) {
      const err = refused({ prompt: 'x', model, [field]: values[field] });
      expect(err.field).toBe(field);
      expect(err.message).toBe(`${field} is not supported by ${model}`);
    }
    expect(refused({ prompt: 'x', model: 'flux-schnell', steps: 5 }).message).toMatch(/between 1 and 4 for flux-schnell/);
  });

  it('refuses image prompt links into private networks unless the caller allows them (operators, tests)', () => {
    for (const link of ['http://127.0.0.1/a.png', 'http://169.254.169.254/latest', 'http://[::1]/a.png', 'http://2130706433/x', 'http://localhost:8080/a.png']) {
      const err = refused({ prompt: 'x', image_prompt: link });
      expect([err.field, err.message]).toEqual(['image_prompt', 'image_prompt must not point to a private or local network address']);
      expect(ok({ prompt: 'x', image_prompt: link }, { allowPrivateImageLinks: true }).image_prompt).toBe(link);
    }
    expect(ok({ prompt: 'x', image_prompt: 'https://cdn.example.com/a.png' }).image_prompt).toBe('https://cdn.example.com/a.png');
  });

  it("takes ultra's raw mode and image prompt strength only when asked, and only for ultra", () => {
    const ultra = { prompt: 'x', model: 'flux-1.1-pro-ultra' as const };
    const plain = ok(ultra);
    expect(plain).not.toHaveProperty('raw');
    expect(plain).not.toHaveProperty('image_prompt_strength');
    expect(ok({ ...ultra, raw: true, image_prompt: 'https://cdn.example.com/a.png', image_prompt_strength: 0.4 })).toMatchObject({
      raw: true,
      image_prompt_strength: 0.4,
    });
    expect(refused({ ...ultra, image_prompt_strength: 0.4 })).toMatchObject({ field: 'image_prompt_strength', message: expect.stringMatching(/image_prompt/) });
    expect(refused({ ...ultra, image_prompt: 'https://cdn.example.com/a.png', image_prompt_strength: 1.5 }).field).toBe('image_prompt_strength');
    expect(refused({ prompt: 'x', model: 'flux-pro', raw: false }).field).toBe('raw');
  });

  it('accepts an inline image prompt as a data URI (private files fetched by an adapter)', () => {
    const r = ok({ prompt: 'x', image_prompt: 'data:image/png;base64,iVBORw0KGgo=' });
    expect(r.image_prompt).toMatch(/^data:image\/png/);
    expect(refused({ prompt: 'x', image_prompt: 'data:text/html;base64,PGI+' }).field).toBe('image_prompt');
  });
});

describe('provider error details shown to people', () => {
  it('never carry an address or host:port of the operator network, and keep ordinary text', async () => {
    const { GenerationFailed } = await import('../../src/core/errors.js');
    const shown = (detail: string) => new GenerationFailed('cog', detail).userMessage;
    expect(shown('connect ECONNREFUSED 10.0.0.5:5000')).not.toMatch(/10\.0\.0\.5|5000/);
    expect(shown('could not fetch from cog.internal:5000')).not.toContain('cog.internal');
    expect(shown('upstream [fd00::1]:80 reset')).not.toContain('fd00');
    expect(shown('refused fe80::1%eth0')).not.toContain('fe80::1');
    expect(shown('aspect ratio 16:9 is not supported')).toContain('16:9');
  });
});

describe('FLUX.2 and reference images', () => {
  const png = 'data:image/png;base64,iVBORw0KGgo=';
  it('defaults to flux-2-pro at one megapixel in multiples of 16, up to 4 MP custom', () => {
    const r = parseFluxRequest({ prompt: 'x' }, { randomSeed: seed });
    expect(r.ok && r.request).toMatchObject({ model: 'flux-2-pro', aspect_ratio: '1:1', width: 1024, height: 1024, safety_tolerance: 2 });
    expect(ok({ prompt: 'x', model: 'flux-2-pro', aspect_ratio: '16:9' })).toMatchObject({ width: 1360, height: 768 });
    expect(ok({ prompt: 'x', model: 'flux-2-pro', width: 2000, height: 1999 })).toMatchObject({ width: 2000, height: 2000 });
    expect(refused({ prompt: 'x', model: 'flux-2-pro', width: 2048, height: 2100 }).field).toBe('height');
  });

  it('keeps images in order, refuses more than the model takes, and Kontext without one', () => {
    const links = ['https://cdn.example.com/a.png', png, 'https://cdn.example.com/c.webp'];
    expect(ok({ prompt: 'x', model: 'flux-2-pro', images: links }).images).toEqual(links);
    expect(ok({ prompt: 'x', model: 'flux-2-pro', images: [] })).not.toHaveProperty('images');
    const tooMany = refused({ prompt: 'x', model: 'flux-2-dev', images: Array(5).fill(png) });
    expect([tooMany.field, tooMany.message]).toEqual(['images', 'images: flux-2-dev takes at most 4 reference images (5 given)']);
    const none = refused({ prompt: 'x', model: 'flux-kontext-pro' });
    expect([none.field, none.message]).toEqual(['images', 'flux-kontext-pro edits an image: give a reference image (images)']);
    expect(refused({ prompt: 'x', model: 'flux-2-pro', images: ['ftp://x/a.png'] }).message).toMatch(/^image 1 must be an http\(s\) link/);
    expect(refused({ prompt: 'x', model: 'flux-2-pro', images: [png, 'http://127.0.0.1/a.png'] }).message).toBe('image 2 must not point to a private or local network address');
    expect(refused({ prompt: 'x', images: Array(11).fill(png) }).field).toBe('images');
  });

  it('on a FLUX.1 model one image is the image prompt; more, or a model with neither, is refused naming images', () => {
    expect(ok({ prompt: 'x', model: 'flux-1.1-pro-ultra', images: [png] })).toMatchObject({ image_prompt: png });
    expect(ok({ prompt: 'x', model: 'flux-1.1-pro-ultra', images: [png] })).not.toHaveProperty('images');
    const two = refused({ prompt: 'x', model: 'flux-pro', images: [png, png] });
    expect([two.field, two.message]).toEqual(['images', 'images: flux-pro takes no reference images (it takes one image prompt: give a single image); choose a FLUX.2 or Kontext model to edit an image']);
    const schnell = refused({ prompt: 'x', model: 'flux-schnell', images: [png] });
    expect(schnell.field).toBe('images');
    expect(schnell.message).toContain('flux-schnell takes no reference images');
  });
});

describe('an edit follows the shape of its image (match_input_image)', () => {
  const png = 'data:image/png;base64,iVBORw0KGgo=';
  it('is the default with images and no ratio or size, and resolves once the first image is measured', () => {
    const r = ok({ prompt: 'x', model: 'flux-2-pro', images: [png] });
    expect(r).toMatchObject({ match_input_image: true, aspect_ratio: '1:1', width: 1024, height: 1024 });
    // FLUX.2 has custom sizes: the image's shape at one megapixel, multiples of 16.
    const wide = matchInputImage(r, { width: 3000, height: 1000 });
    expect(wide).toMatchObject({ aspect_ratio: 'custom', width: 1776, height: 592 });
    expect(wide).not.toHaveProperty('match_input_image');
    // Kontext has ratios only: the nearest one.
    const k = ok({ prompt: 'x', model: 'flux-kontext-pro', images: [png] });
    expect(matchInputImage(k, { width: 1080, height: 1920 })).toMatchObject({ aspect_ratio: '9:16', width: 768, height: 1344 });
    // Size unknown: the default stays, the flag goes.
    expect(matchInputImage(r, undefined)).toMatchObject({ aspect_ratio: '1:1', width: 1024, height: 1024 });
    expect(matchInputImage(r, undefined)).not.toHaveProperty('match_input_image');
  });

  it('a ratio or size the person gives wins; match_input_image without an image or with a size is refused', () => {
    expect(ok({ prompt: 'x', model: 'flux-2-pro', images: [png], aspect_ratio: '16:9' })).not.toHaveProperty('match_input_image');
    expect(ok({ prompt: 'x', model: 'flux-2-pro', images: [png], width: 512, height: 512 })).toMatchObject({ aspect_ratio: 'custom', width: 512, height: 512 });
    expect(refused({ prompt: 'x', model: 'flux-2-pro', aspect_ratio: 'match_input_image' }).field).toBe('aspect_ratio');
    expect(refused({ prompt: 'x', model: 'flux-2-pro', images: [png], aspect_ratio: 'match_input_image', width: 512 }).field).toBe('width');
    const big = matchInputImage(ok({ prompt: 'x', model: 'flux-2-pro', images: [png] }), { width: 8000, height: 64 });
    expect(big.width).toBeLessThanOrEqual(2048);
    expect(big.width * big.height).toBeLessThanOrEqual(2048 * 2048);
  });
});
