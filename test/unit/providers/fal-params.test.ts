import { expectUnsupported } from '../../helpers/refusal.js';
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../../src/core/catalogue/index.js';
import { UnsupportedByProvider } from '../../../src/core/errors.js';
import { MODEL_IDS, MODELS, type ModelId } from '../../../src/core/models.js';
import { falAppId } from '../../../src/core/providers/fal/queue-client.js';
import { falMakesMany, toFalCall, type FalCall } from '../../../src/core/providers/fal/params.js';
import { ENDPOINTS } from '../../fakes/fal-fake.js';
import { parseFluxRequest, type FluxRequest, type FluxRequestInput } from '../../../src/core/request.js';

function req(input: Partial<FluxRequestInput>): FluxRequest {
  const parsed = parseFluxRequest({ prompt: 'a lighthouse at dawn', seed: 42, ...input });
  if (!parsed.ok) throw parsed.error;
  return parsed.request;
}

const refusal = expectUnsupported;

/** Kontext edits: its requests carry the one image it needs. */
const edits = (model: ModelId): Partial<FluxRequestInput> => (MODELS[model].images?.required ? { images: ['https://example.com/photo.png'] } : {});

describe('toFalCall: the exact call for every model with its defaults', () => {
  const flux2 = (modelId: string, more: Partial<FalCall['input']> = {}): FalCall => ({
    modelId,
    input: { prompt: 'a lighthouse at dawn', seed: 42, output_format: 'png', image_size: { width: 1024, height: 1024 }, ...more },
    quality: 80,
  });
  const kontext = (modelId: string): FalCall => ({
    modelId,
    input: {
      prompt: 'a lighthouse at dawn',
      seed: 42,
      output_format: 'png',
      image_url: 'https://example.com/photo.png',
      aspect_ratio: '1:1',
      safety_tolerance: '2',
      enhance_prompt: false,
    },
    quality: undefined,
  });
  /** null: fal does not serve the model. */
  const expected: Record<ModelId, FalCall | null> = {
    'flux-2-pro': flux2('fal-ai/flux-2-pro', { safety_tolerance: '2' }),
    'flux-2-max': flux2('fal-ai/flux-2-max', { safety_tolerance: '2' }),
    'flux-2-flex': flux2('fal-ai/flux-2-flex', { num_inference_steps: 50, guidance_scale: 4.5, safety_tolerance: '2', enable_prompt_expansion: false }),
    'flux-2-dev': null,
    'flux-2-klein-4b': flux2('fal-ai/flux-2/klein/4b'),
    'flux-2-klein-9b': null,
    'flux-kontext-pro': kontext('fal-ai/flux-pro/kontext'),
    'flux-kontext-max': kontext('fal-ai/flux-pro/kontext/max'),
    'flux-pro': {
      modelId: 'fal-ai/flux-pro/new',
      input: {
        prompt: 'a lighthouse at dawn',
        seed: 42,
        output_format: 'png',
        image_size: { width: 1024, height: 1024 },
        num_inference_steps: 25,
        guidance_scale: 3,
        safety_tolerance: '2',
        enhance_prompt: false,
      },
      quality: 80,
    },
    'flux-1.1-pro': {
      modelId: 'fal-ai/flux-pro/v1.1',
      input: {
        prompt: 'a lighthouse at dawn',
        seed: 42,
        output_format: 'png',
        image_size: { width: 1024, height: 1024 },
        safety_tolerance: '2',
        enhance_prompt: false,
      },
      quality: 80,
    },
    'flux-1.1-pro-ultra': {
      modelId: 'fal-ai/flux-pro/v1.1-ultra',
      input: { prompt: 'a lighthouse at dawn', seed: 42, output_format: 'png', aspect_ratio: '16:9', safety_tolerance: '2' },
      quality: undefined,
    },
    'flux-dev': {
      modelId: 'fal-ai/flux/dev',
      input: {
        prompt: 'a lighthouse at dawn',
        seed: 42,
        output_format: 'png',
        image_size: { width: 1024, height: 1024 },
        num_inference_steps: 28,
        guidance_scale: 3,
      },
      quality: 80,
    },
    'flux-schnell': {
      modelId: 'fal-ai/flux/schnell',
      input: { prompt: 'a lighthouse at dawn', seed: 42, output_format: 'png', image_size: { width: 1024, height: 1024 }, num_inference_steps: 4 },
      quality: 80,
    },
  };

  for (const model of Object.keys(MODELS) as ModelId[]) {
    it(`${model} (webp by default: asked as png, converted by us)`, () => {
      const call = expected[model];
      if (call === null) expect(refusal(() => toFalCall(req({ model }))).field).toBe('model');
      else expect(toFalCall(req({ model, ...edits(model) }))).toStrictEqual(call);
    });
  }

  it('uses the catalogue’s fal id for every model it serves (the text-to-image one without images)', () => {
    for (const model of Object.keys(MODELS) as ModelId[]) {
      if (MODELS[model].providerIds.fal === undefined || MODELS[model].images?.required) continue;
      expect(toFalCall(req({ model })).modelId).toBe(MODELS[model].providerIds.fal);
    }
  });
});

describe('toFalCall: mapping each field', () => {
  it('maps every flux-pro setting the person chose', () => {
    const call = toFalCall(
      req({ model: 'flux-pro', aspect_ratio: '16:9', steps: 40, guidance: 4.5, safety_tolerance: 5, prompt_upsampling: true, output_format: 'jpg' }),
    );
    expect(call.input).toStrictEqual({
      prompt: 'a lighthouse at dawn',
      seed: 42,
      output_format: 'jpeg',
      image_size: { width: 1344, height: 768 },
      num_inference_steps: 40,
      guidance_scale: 4.5,
      safety_tolerance: '5',
      enhance_prompt: true,
    });
  });

  it('sends the rounded custom size as image_size', () => {
    const call = toFalCall(req({ model: 'flux-1.1-pro', width: 800, height: 600 }));
    expect(call.input.image_size).toStrictEqual({ width: 800, height: 608 });
    expect(call.input.aspect_ratio).toBeUndefined();
  });

  it('sends safety_tolerance as a string for every level', () => {
    for (let level = 1; level <= 6; level++) {
      expect(toFalCall(req({ model: 'flux-1.1-pro', safety_tolerance: level })).input.safety_tolerance).toBe(String(level));
    }
  });

  it('asks jpeg for jpg at the default quality, and png at any other quality so our encoder applies it', () => {
    expect(toFalCall(req({ output_format: 'jpg' })).input.output_format).toBe('jpeg');
    const chosen = toFalCall(req({ output_format: 'jpg', output_quality: 95 }));
    expect(chosen.input.output_format).toBe('png');
    expect(chosen.quality).toBe(95);
  });

  it('asks png for png and for webp, carrying the webp quality to the conversion', () => {
    expect(toFalCall(req({ output_format: 'png' })).input.output_format).toBe('png');
    const webp = toFalCall(req({ output_format: 'webp', output_quality: 55 }));
    expect(webp.input.output_format).toBe('png');
    expect(webp.quality).toBe(55);
  });

  it('gives ultra its aspect ratio and the image prompt as image_url', () => {
    const call = toFalCall(req({ model: 'flux-1.1-pro-ultra', aspect_ratio: '21:9', image_prompt: 'https://example.com/ref.png' }));
    expect(call.input.aspect_ratio).toBe('21:9');
    expect(call.input.image_url).toBe('https://example.com/ref.png');
    expect(call.input.image_size).toBeUndefined();
  });
});

describe('toFalCall: refusals name the field', () => {
  it('accepts flux-pro’s interval at its default (always present in the resolved request)', () => {
    expect(() => toFalCall(req({ model: 'flux-pro', interval: 2 }))).not.toThrow();
  });

  it('refuses an interval other than the default', () => {
    const err = refusal(() => toFalCall(req({ model: 'flux-pro', interval: 3 })));
    expect(err.field).toBe('interval');
    expect(err.provider).toBe('fal');
    expect(err.message).toContain('interval');
  });

  it('refuses image_prompt on every model but ultra', () => {
    for (const model of ['flux-pro', 'flux-1.1-pro'] as const) {
      const err = refusal(() => toFalCall(req({ model, image_prompt: 'https://example.com/ref.png' })));
      expect(err.field).toBe('image_prompt');
    }
  });

  it('refuses the ultra aspect ratios fal does not list', () => {
    for (const aspect_ratio of ['4:5', '5:4'] as const) {
      const err = refusal(() => toFalCall(req({ model: 'flux-1.1-pro-ultra', aspect_ratio })));
      expect(err.field).toBe('aspect_ratio');
      expect(err.message).toContain(aspect_ratio);
    }
  });

  it('refuses a model without a fal id', () => {
    const catalogue = { ...MODELS, 'flux-dev': { ...MODELS['flux-dev'], providerIds: { replicate: 'black-forest-labs/flux-dev' } } };
    const err = refusal(() => toFalCall(req({ model: 'flux-dev' }), catalogue));
    expect(err.field).toBe('model');
  });
});

describe('toFalCall: reference images', () => {
  const a = 'https://example.com/a.png';
  const b = 'data:image/png;base64,iVBORw0KGgo=';

  it('sends FLUX.2 references as image_urls, in order, to the /edit variant', () => {
    const call = toFalCall(req({ model: 'flux-2-pro', images: [a, b], aspect_ratio: '16:9' }));
    expect(call.modelId).toBe('fal-ai/flux-2-pro/edit');
    expect(call.input.image_urls).toStrictEqual([a, b]);
    // The size asked stays exact: the edit variant's default (`auto`) would follow the first image instead.
    expect(call.input.image_size).toStrictEqual({ width: 1360, height: 768 });
    expect(call.input).not.toHaveProperty('num_images');
  });

  it('sends Kontext’s one reference as image_url to its own endpoint, and refuses a second naming images', () => {
    const call = toFalCall(req({ model: 'flux-kontext-max', images: [b] }));
    expect(call.modelId).toBe('fal-ai/flux-pro/kontext/max');
    expect(call.input.image_url).toBe(b);
    expect(call.input).not.toHaveProperty('image_urls');
    const err = refusal(() => toFalCall(req({ model: 'flux-kontext-pro', images: [a, b] })));
    expect([err.field, err.provider]).toStrictEqual(['images', 'fal']);
    expect(err.message).toContain('at most 1 reference image');
  });

  it('refuses references on a fal app without an edit variant; flex’s edit variant takes all ten', () => {
    expect(refusal(() => toFalCall(req({ model: 'flux-2-klein-4b', images: [a] }))).field).toBe('images');
    const ten = Array.from({ length: 10 }, (_, i) => `https://example.com/${i}.png`);
    expect(toFalCall(req({ model: 'flux-2-flex', images: ten })).input.image_urls).toStrictEqual(ten);
  });
});

describe('toFalCall: galleries (count)', () => {
  it('asks num_images = count where the endpoint has it, and leaves it out for one image', () => {
    expect(toFalCall(req({ model: 'flux-1.1-pro', count: 4 })).input).toMatchObject({ num_images: 4, seed: 42 });
    expect(toFalCall(req({ model: 'flux-1.1-pro-ultra', count: 2 })).input.num_images).toBe(2);
    expect(toFalCall(req({ model: 'flux-1.1-pro', count: 1 })).input).not.toHaveProperty('num_images');
  });

  it('refuses count > 1 on an endpoint without num_images as a programming error, not a provider refusal', () => {
    for (const input of [{ model: 'flux-2-pro' as const }, { model: 'flux-2-max' as const, images: ['https://example.com/a.png'] }]) {
      let thrown: unknown;
      try {
        toFalCall(req({ ...input, count: 3 }));
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(Error);
      // Not UnsupportedByProvider: a failover must not hide a worker that skipped makesMany.
      expect(thrown).not.toBeInstanceOf(UnsupportedByProvider);
      expect((thrown as Error).message).toMatch(/^fal's fal-ai\/flux-2-(pro|max\/edit) makes one image per call: a gallery of 3 must be made one request \(without count\) per image$/);
    }
  });

  it('the catalogue’s flag agrees with each called endpoint’s schema (num_images or not), with and without images', () => {
    const served = MODEL_IDS.filter((model) => MODELS[model].providerIds.fal !== undefined);
    expect(served.length).toBeGreaterThan(5);
    for (const model of served) {
      const takes = MODELS[model].images;
      const variants: Array<Partial<FluxRequestInput>> = takes?.required ? [{ images: ['https://example.com/a.png'] }] : [{}];
      // With images too, where fal takes them for the model (klein's fal app does not).
      if (takes && !takes.required && CATALOGUE[model].providers.fal?.images) variants.push({ images: ['https://example.com/a.png'] });
      for (const variant of variants) {
        const endpoint = toFalCall(req({ model, ...variant })).modelId;
        const schema = ENDPOINTS[endpoint];
        expect(schema, endpoint).toBeDefined();
        expect(falMakesMany(req({ model, ...variant, count: 2 })), endpoint).toBe('num_images' in schema!.fields);
      }
    }
  });
});

describe('falAppId', () => {
  it('drops the model’s sub-path', () => {
    expect(falAppId('fal-ai/flux-pro/v1.1')).toBe('fal-ai/flux-pro');
    expect(falAppId('fal-ai/flux-pro/v1.1-ultra')).toBe('fal-ai/flux-pro');
    expect(falAppId('fal-ai/flux/dev')).toBe('fal-ai/flux');
    expect(falAppId('fal-ai/flux-pro')).toBe('fal-ai/flux-pro');
    expect(falAppId('fal-ai/flux-2-pro/edit')).toBe('fal-ai/flux-2-pro');
    expect(falAppId('fal-ai/flux-2/klein/4b')).toBe('fal-ai/flux-2');
    expect(falAppId('fal-ai/flux-pro/kontext/max')).toBe('fal-ai/flux-pro');
  });

  it('keeps three segments for namespaced apps', () => {
    expect(falAppId('workflows/someone/my-flow/run')).toBe('workflows/someone/my-flow');
  });
});
