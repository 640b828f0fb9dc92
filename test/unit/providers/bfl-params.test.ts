import { describe, expect, it } from 'vitest';
import { expectUnsupported } from '../../helpers/refusal.js';
import { MODEL_IDS, MODELS } from '../../../src/core/models.js';
import { bflEndpoint, bflParams, withBflExtras } from '../../../src/core/providers/bfl/params.js';
import { parseFluxRequest, type FluxRequest, type FluxRequestInput } from '../../../src/core/request.js';

function req(input: FluxRequestInput): FluxRequest {
  const parsed = parseFluxRequest(input);
  if (!parsed.ok) throw parsed.error;
  return parsed.request;
}

const refusal = (request: FluxRequest) => expectUnsupported(() => bflParams(request));

describe('BFL parameters: one exact body per model', () => {
  it('flux-pro sends the resolved pixel size and every pro field', () => {
    const params = bflParams(req({ prompt: 'a lighthouse at dawn', model: 'flux-pro', seed: 7 }));
    expect(params.endpoint).toBe('flux-pro');
    expect(params.body).toStrictEqual({
      prompt: 'a lighthouse at dawn',
      width: 1024,
      height: 1024,
      steps: 25,
      guidance: 3,
      interval: 2,
      safety_tolerance: 2,
      seed: 7,
      prompt_upsampling: false,
      output_format: 'png',
    });
    expect(params.format).toBe('webp');
    expect(params.quality).toBe(80);
    expect(params.imagePrompt).toBeUndefined();
    expect(params.images).toStrictEqual([]);
  });

  it('flux-pro with every field set passes each one through, the custom size rounded to 32', () => {
    const params = bflParams(
      req({
        prompt: 'a fox',
        model: 'flux-pro',
        width: 1000,
        height: 700,
        steps: 40,
        guidance: 4.5,
        interval: 3.5,
        safety_tolerance: 6,
        seed: 42,
        prompt_upsampling: true,
        output_format: 'jpg',
        output_quality: 95,
      }),
    );
    expect(params.body).toStrictEqual({
      prompt: 'a fox',
      width: 992,
      height: 704,
      steps: 40,
      guidance: 4.5,
      interval: 3.5,
      safety_tolerance: 6,
      seed: 42,
      prompt_upsampling: true,
      output_format: 'jpeg',
    });
    expect(params.format).toBe('jpg');
    expect(params.quality).toBe(95);
  });

  it('flux-1.1-pro sends size, safety, upsampling, seed and format only', () => {
    const params = bflParams(req({ prompt: 'a cat', model: 'flux-1.1-pro', aspect_ratio: '16:9', seed: 3, output_format: 'png' }));
    expect(params.endpoint).toBe('flux-pro-1.1');
    expect(params.body).toStrictEqual({
      prompt: 'a cat',
      width: 1344,
      height: 768,
      safety_tolerance: 2,
      seed: 3,
      prompt_upsampling: false,
      output_format: 'png',
    });
    expect(params.format).toBe('png');
  });

  it('flux-1.1-pro-ultra sends the aspect ratio (not pixels) and raw false', () => {
    const params = bflParams(req({ prompt: 'a canyon', model: 'flux-1.1-pro-ultra', aspect_ratio: '21:9', seed: 9, safety_tolerance: 1 }));
    expect(params.endpoint).toBe('flux-pro-1.1-ultra');
    expect(params.body).toStrictEqual({
      prompt: 'a canyon',
      aspect_ratio: '21:9',
      safety_tolerance: 1,
      seed: 9,
      output_format: 'png',
      raw: false,
    });
    // Ultra has no output_quality in the catalogue: the webp conversion uses the usual default.
    expect(params.format).toBe('webp');
    expect(params.quality).toBe(80);
  });

  it('flux-dev sends size, steps and guidance', () => {
    const params = bflParams(req({ prompt: 'a tree', model: 'flux-dev', aspect_ratio: '3:2', seed: 11, guidance: 3.5, output_format: 'jpg' }));
    expect(params.endpoint).toBe('flux-dev');
    expect(params.body).toStrictEqual({ prompt: 'a tree', width: 1216, height: 832, steps: 28, guidance: 3.5, seed: 11, output_format: 'jpeg' });
  });

  it('flux-2-pro sends the 16-multiple pixel size and safety (0..5 on BFL), nothing FLUX.1 had', () => {
    const params = bflParams(req({ prompt: 'a fox', model: 'flux-2-pro', aspect_ratio: '16:9', seed: 5, safety_tolerance: 5, output_format: 'jpg' }));
    expect(params.endpoint).toBe('flux-2-pro');
    expect(params.body).toStrictEqual({ prompt: 'a fox', width: 1360, height: 768, safety_tolerance: 5, seed: 5, output_format: 'jpeg' });
  });

  it('flux-2-pro takes a custom 4 MP size up to 2048 px a side, in multiples of 16', () => {
    const params = bflParams(req({ prompt: 'x', model: 'flux-2-pro', width: 2048, height: 2048 }));
    expect([params.body.width, params.body.height]).toStrictEqual([2048, 2048]);
    expect(bflParams(req({ prompt: 'x', model: 'flux-2-pro', width: 1000, height: 520 })).body).toMatchObject({ width: 1008, height: 528 });
  });

  it('flux-2-flex alone has steps, guidance (1.5..10) and prompt upsampling', () => {
    const params = bflParams(req({ prompt: 'x', model: 'flux-2-flex', seed: 1, steps: 20, guidance: 8 }));
    expect(params.body).toStrictEqual({
      prompt: 'x',
      width: 1024,
      height: 1024,
      steps: 20,
      guidance: 8,
      safety_tolerance: 2,
      seed: 1,
      prompt_upsampling: false,
      output_format: 'png',
    });
  });

  it('Kontext sends its aspect ratio (no pixels) with safety and prompt upsampling', () => {
    const params = bflParams(req({ prompt: 'purple sky', model: 'flux-kontext-pro', aspect_ratio: '21:9', seed: 3, images: ['https://example.com/a.png'] }));
    expect(params.endpoint).toBe('flux-kontext-pro');
    expect(params.body).toStrictEqual({ prompt: 'purple sky', aspect_ratio: '21:9', safety_tolerance: 2, seed: 3, prompt_upsampling: false, output_format: 'png' });
    expect(params.images).toStrictEqual([{ field: 'input_image', source: 'https://example.com/a.png' }]);
  });

  it('covers every model of the catalogue: an endpoint for those BFL serves, a refusal naming `model` otherwise', () => {
    for (const model of MODEL_IDS) {
      const images = MODELS[model].images?.required ? { images: ['https://example.com/a.png'] } : {};
      const request = req({ prompt: 'x', model, ...images });
      if (MODELS[model].providerIds.bfl === undefined) {
        expect(refusal(request).field).toBe('model');
      } else {
        expect(bflEndpoint(request)).toBe(MODELS[model].providerIds.bfl);
        expect(bflParams(request).body.prompt).toBe('x');
      }
    }
    expect(refusal(req({ prompt: 'x', model: 'flux-schnell' })).message).toContain('flux-schnell');
  });
});

describe('BFL parameters: what BFL cannot express is refused, naming the field', () => {
  it('refuses flux-dev sizes past 1440 px (21:9, 9:21) on aspect_ratio', () => {
    for (const aspect_ratio of ['21:9', '9:21'] as const) {
      const err = refusal(req({ prompt: 'x', model: 'flux-dev', aspect_ratio }));
      expect(err.field).toBe('aspect_ratio');
      expect(err.message).toContain('1440');
    }
  });

  it('refuses flux-dev guidance outside BFL’s 1.5..5 although the catalogue allows 0..10', () => {
    expect(refusal(req({ prompt: 'x', model: 'flux-dev', guidance: 7 })).field).toBe('guidance');
    expect(refusal(req({ prompt: 'x', model: 'flux-dev', guidance: 1 })).field).toBe('guidance');
  });

  it('refuses a field the endpoint lacks instead of dropping it', () => {
    const pro11 = req({ prompt: 'x', model: 'flux-1.1-pro' });
    expect(refusal({ ...pro11, steps: 30 }).field).toBe('steps');
    expect(refusal({ ...pro11, guidance: 3 }).field).toBe('guidance');
    const dev = req({ prompt: 'x', model: 'flux-dev' });
    expect(refusal({ ...dev, interval: 2 }).field).toBe('interval');
    const ultra = req({ prompt: 'x', model: 'flux-1.1-pro-ultra' });
    expect(refusal({ ...ultra, steps: 20 }).field).toBe('steps');
  });

  it('never sends output_quality, which BFL lacks: it only sets the quality of our own re-encoding', () => {
    const params = bflParams(req({ prompt: 'x', model: 'flux-pro', output_format: 'webp', output_quality: 55 }));
    expect(Object.keys(params.body)).not.toContain('output_quality');
    expect(params.quality).toBe(55);
  });
});

describe('BFL parameters: image prompt and webhook', () => {
  it('leaves the image prompt to be fetched, then adds it as base64 in BFL’s key order', () => {
    const params = bflParams(req({ prompt: 'x', model: 'flux-pro', image_prompt: 'https://example.com/a.png', seed: 1 }));
    expect(params.imagePrompt).toBe('https://example.com/a.png');
    expect(params.body).not.toHaveProperty('image_prompt');
    const body = withBflExtras(params.body, { imagePromptBase64: 'iVBORw0KGgo=' });
    expect(body.image_prompt).toBe('iVBORw0KGgo=');
    expect(Object.keys(body).slice(0, 3)).toStrictEqual(['prompt', 'image_prompt', 'width']);
  });

  it('passes an image prompt for every model that takes one', () => {
    for (const model of ['flux-pro', 'flux-1.1-pro', 'flux-1.1-pro-ultra'] as const) {
      expect(bflParams(req({ prompt: 'x', model, image_prompt: 'https://example.com/a.png' })).imagePrompt).toBe('https://example.com/a.png');
    }
  });

  it('adds webhook_url with the secret, and no secret without a URL', () => {
    const { body } = bflParams(req({ prompt: 'x', model: 'flux-pro', seed: 1 }));
    expect(withBflExtras(body, { webhookUrl: 'https://bot.example/hooks/bfl', webhookSecret: 's3' })).toMatchObject({
      webhook_url: 'https://bot.example/hooks/bfl',
      webhook_secret: 's3',
    });
    const without = withBflExtras(body, { webhookSecret: 's3' });
    expect(without).not.toHaveProperty('webhook_secret');
    expect(without).toStrictEqual(body);
  });
});

describe('BFL parameters: reference images', () => {
  const links = (count: number) => Array.from({ length: count }, (_, i) => `https://example.com/${i + 1}.png`);

  it('leaves each image to be fetched, named input_image, input_image_2 … in order, then adds the base64 right after the prompt', () => {
    const params = bflParams(req({ prompt: 'x', model: 'flux-2-pro', seed: 1, images: links(3) }));
    expect(params.images).toStrictEqual([
      { field: 'input_image', source: 'https://example.com/1.png' },
      { field: 'input_image_2', source: 'https://example.com/2.png' },
      { field: 'input_image_3', source: 'https://example.com/3.png' },
    ]);
    expect(Object.keys(params.body).some((key) => key.startsWith('input_image'))).toBe(false);
    const body = withBflExtras(params.body, { images: params.images.map((image, i) => ({ field: image.field, base64: `QUFB${i}` })) });
    expect(Object.keys(body).slice(0, 5)).toStrictEqual(['prompt', 'input_image', 'input_image_2', 'input_image_3', 'width']);
    expect([body.input_image, body.input_image_2, body.input_image_3]).toStrictEqual(['QUFB0', 'QUFB1', 'QUFB2']);
  });

  it('takes eight on FLUX.2 [pro] and four on Kontext; more are refused naming images, for the next provider', () => {
    expect(bflParams(req({ prompt: 'x', model: 'flux-2-pro', images: links(8) })).images.at(-1)!.field).toBe('input_image_8');
    const flex = refusal(req({ prompt: 'x', model: 'flux-2-flex', images: links(9) }));
    expect([flex.field, flex.provider]).toStrictEqual(['images', 'bfl']);
    expect(bflParams(req({ prompt: 'x', model: 'flux-kontext-max', images: links(4) })).images).toHaveLength(4);
  });
});
