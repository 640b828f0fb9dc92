import { expectUnsupported } from '../../helpers/refusal.js';
import { describe, expect, it } from 'vitest';
import { MODEL_IDS, MODELS } from '../../../src/core/models.js';
import { isModerationError, outputUrl, readPrediction } from '../../../src/core/providers/replicate/prediction.js';
import { toReplicateParams } from '../../../src/core/providers/replicate/params.js';
import { parseDuration, ReplicateProvider } from '../../../src/core/providers/replicate/replicate-provider.js';
import { signReplicateWebhook, validateReplicateWebhook } from '../../../src/core/providers/replicate/webhook.js';
import { parseFluxRequest, type FluxRequest } from '../../../src/core/request.js';

function req(input: Record<string, unknown>): FluxRequest {
  const r = parseFluxRequest({ prompt: 'a lighthouse at dawn', seed: 7, ...input });
  if (!r.ok) throw new Error(r.error.message);
  return r.request;
}

const refusal = expectUnsupported;

describe('toReplicateParams: the exact input per model', () => {
  it('flux-pro sends every FLUX.1 [pro] field, with the size only for custom', () => {
    expect(toReplicateParams(req({ model: 'flux-pro', image_prompt: 'https://example.com/a.png', prompt_upsampling: true }))).toEqual({
      model: 'black-forest-labs/flux-pro',
      input: {
        prompt: 'a lighthouse at dawn',
        image_prompt: 'https://example.com/a.png',
        aspect_ratio: '1:1',
        steps: 25,
        guidance: 3,
        interval: 2,
        safety_tolerance: 2,
        seed: 7,
        prompt_upsampling: true,
        output_format: 'webp',
        output_quality: 80,
      },
    });
    expect(toReplicateParams(req({ model: 'flux-pro', width: 1000, height: 700 })).input).toMatchObject({
      aspect_ratio: 'custom',
      width: 992,
      height: 704,
    });
  });

  it('flux-1.1-pro takes custom sizes but no steps, guidance or interval', () => {
    expect(toReplicateParams(req({ model: 'flux-1.1-pro', aspect_ratio: 'custom', width: 512, height: 768, output_format: 'jpg' }))).toEqual({
      model: 'black-forest-labs/flux-1.1-pro',
      input: {
        prompt: 'a lighthouse at dawn',
        aspect_ratio: 'custom',
        width: 512,
        height: 768,
        safety_tolerance: 2,
        seed: 7,
        prompt_upsampling: false,
        output_format: 'jpg',
        output_quality: 80,
      },
    });
  });

  it('flux-1.1-pro-ultra takes 21:9 and asks for png when webp is wanted, to convert afterwards', () => {
    expect(toReplicateParams(req({ model: 'flux-1.1-pro-ultra', aspect_ratio: '21:9', safety_tolerance: 5 }))).toEqual({
      model: 'black-forest-labs/flux-1.1-pro-ultra',
      input: { prompt: 'a lighthouse at dawn', aspect_ratio: '21:9', safety_tolerance: 5, seed: 7, output_format: 'png' },
      convertTo: 'webp',
    });
    const jpg = toReplicateParams(req({ model: 'flux-1.1-pro-ultra', output_format: 'jpg' }));
    expect(jpg.input.output_format).toBe('jpg');
    expect(jpg.convertTo).toBeUndefined();
    expect(jpg.input).not.toHaveProperty('width');
  });

  it('flux-dev names steps num_inference_steps and asks for one output', () => {
    expect(toReplicateParams(req({ model: 'flux-dev', aspect_ratio: '9:21', steps: 30, guidance: 4.5, output_quality: 95 }))).toEqual({
      model: 'black-forest-labs/flux-dev',
      input: {
        prompt: 'a lighthouse at dawn',
        aspect_ratio: '9:21',
        num_inference_steps: 30,
        guidance: 4.5,
        seed: 7,
        output_format: 'webp',
        output_quality: 95,
        num_outputs: 1,
      },
    });
  });

  it('flux-schnell has no guidance', () => {
    expect(toReplicateParams(req({ model: 'flux-schnell', output_format: 'png' }))).toEqual({
      model: 'black-forest-labs/flux-schnell',
      input: {
        prompt: 'a lighthouse at dawn',
        aspect_ratio: '1:1',
        num_inference_steps: 4,
        seed: 7,
        output_format: 'png',
        output_quality: 80,
        num_outputs: 1,
      },
    });
  });

  it('always sends the seed, for every model, and Cog gets the same input under its own model name', () => {
    for (const model of MODEL_IDS) {
      const images = MODELS[model].images?.required ? { images: ['https://example.com/a.png'] } : {};
      const request = req({ model, seed: 2_000_000_000, ...images });
      expect(toReplicateParams(request).input.seed).toBe(2_000_000_000);
      if (MODELS[model].providerIds.cog === undefined) {
        expect(refusal(() => toReplicateParams(request, 'cog')).field).toBe('model');
        continue;
      }
      const cog = toReplicateParams(request, 'cog');
      expect(cog.model).toBe(model);
      expect(cog.input).toEqual(toReplicateParams(request).input);
    }
  });

  it('flux-2-pro sends its references as input_images in order, with output_quality and no FLUX.1 fields', () => {
    const images = ['https://example.com/a.png', 'data:image/png;base64,iVBORw0KGgo='];
    expect(toReplicateParams(req({ model: 'flux-2-pro', images, aspect_ratio: '4:3' }))).toEqual({
      model: 'black-forest-labs/flux-2-pro',
      input: { prompt: 'a lighthouse at dawn', input_images: images, aspect_ratio: '4:3', safety_tolerance: 2, seed: 7, output_format: 'webp', output_quality: 80 },
    });
    expect(toReplicateParams(req({ model: 'flux-2-pro', width: 1000, height: 520 })).input).toMatchObject({ aspect_ratio: 'custom', width: 1008, height: 528 });
  });

  it('klein takes its references as `images`; Kontext one `input_image`, asked as png for webp', () => {
    expect(toReplicateParams(req({ model: 'flux-2-klein-4b', images: ['https://example.com/a.png'] })).input.images).toEqual(['https://example.com/a.png']);
    expect(toReplicateParams(req({ model: 'flux-kontext-pro', images: ['https://example.com/a.png'] }))).toEqual({
      model: 'black-forest-labs/flux-kontext-pro',
      input: { prompt: 'a lighthouse at dawn', input_image: 'https://example.com/a.png', aspect_ratio: '1:1', safety_tolerance: 2, seed: 7, prompt_upsampling: false, output_format: 'png' },
      convertTo: 'webp',
    });
  });
});

describe('toReplicateParams: refusals name the field instead of dropping it', () => {
  it('refuses fields a model cannot express', () => {
    const base = req({ model: 'flux-1.1-pro' });
    expect(refusal(() => toReplicateParams({ ...base, steps: 20 })).field).toBe('steps');
    expect(refusal(() => toReplicateParams({ ...base, guidance: 3 })).field).toBe('guidance');
    expect(refusal(() => toReplicateParams({ ...base, interval: 2 })).field).toBe('interval');
    const dev = req({ model: 'flux-dev' });
    expect(refusal(() => toReplicateParams({ ...dev, image_prompt: 'https://example.com/a.png' })).field).toBe('image_prompt');
    expect(refusal(() => toReplicateParams({ ...dev, safety_tolerance: 2 })).field).toBe('safety_tolerance');
    expect(refusal(() => toReplicateParams({ ...dev, prompt_upsampling: true })).field).toBe('prompt_upsampling');
    const ultra = req({ model: 'flux-1.1-pro-ultra' });
    expect(refusal(() => toReplicateParams({ ...ultra, output_quality: 80 })).field).toBe('output_quality');
    expect(refusal(() => toReplicateParams({ ...req({ model: 'flux-schnell' }), guidance: 3 })).field).toBe('guidance');
  });

  it('refuses sizes and ratios the model has not got', () => {
    const ultra = req({ model: 'flux-1.1-pro-ultra' });
    expect(refusal(() => toReplicateParams({ ...ultra, aspect_ratio: 'custom', width: 512, height: 512 })).field).toBe('width');
    expect(refusal(() => toReplicateParams({ ...req({ model: 'flux-pro' }), aspect_ratio: '21:9' })).field).toBe('aspect_ratio');
  });

  it('refuses more reference images than the model takes on Replicate, naming images', () => {
    const two = ['https://example.com/a.png', 'https://example.com/b.png'];
    const err = refusal(() => toReplicateParams(req({ model: 'flux-kontext-max', images: two })));
    expect([err.field, err.provider]).toEqual(['images', 'replicate']);
    const dev = req({ model: 'flux-2-dev', images: two });
    expect(refusal(() => toReplicateParams({ ...dev, images: [...two, ...two, two[0]!] })).field).toBe('images');
  });

  it('refuses a model the provider has no id for', () => {
    const err = refusal(() => toReplicateParams(req({ model: 'flux-schnell' }), 'bfl'));
    expect(err.field).toBe('model');
    expect(err.provider).toBe('bfl');
  });
});

describe('reading predictions', () => {
  it('accepts a string or an array output, and output present while processing', () => {
    expect(outputUrl('https://replicate.delivery/x.webp')).toBe('https://replicate.delivery/x.webp');
    expect(outputUrl(['https://replicate.delivery/y.png'])).toBe('https://replicate.delivery/y.png');
    expect(outputUrl(null)).toBeUndefined();
    expect(outputUrl('not a url')).toBeUndefined();
    expect(readPrediction('replicate', { status: 'processing', output: ['https://h/x.png'], logs: 'Using seed: 99\n' })).toEqual({
      done: true,
      url: 'https://h/x.png',
      seed: 99,
    });
    expect(readPrediction('replicate', { status: 'starting' })).toEqual({ done: false, progress: { state: 'queued' } });
  });

  it('maps every terminal failure to its typed error', () => {
    expect(() => readPrediction('replicate', { status: 'failed', error: 'NSFW content detected.' })).toThrow(
      expect.objectContaining({ code: 'moderated' }),
    );
    expect(() => readPrediction('replicate', { status: 'failed', error: 'CUDA out of memory' })).toThrow(
      expect.objectContaining({ name: 'GenerationFailed' }),
    );
    expect(() => readPrediction('replicate', { status: 'canceled' })).toThrow(expect.objectContaining({ code: 'canceled' }));
    expect(() => readPrediction('replicate', { status: 'aborted' })).toThrow(expect.objectContaining({ code: 'timeout' }));
    expect(() => readPrediction('replicate', { status: 'succeeded', output: null, data_removed: true })).toThrow(/expired/);
    expect(isModerationError('The input or output was flagged as sensitive (E005)')).toBe(true);
    expect(isModerationError('CUDA out of memory')).toBe(false);
  });
});

describe('Cancel-After durations', () => {
  it('parses Replicate durations and enforces the 5 s minimum', () => {
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('5s')).toBe(5000);
    expect(() => parseDuration('4s')).toThrow(RangeError);
    expect(() => parseDuration('ten minutes')).toThrow(RangeError);
    expect(() => parseDuration('')).toThrow(RangeError);
    const options = { baseUrl: 'http://127.0.0.1:1/v1', token: 'r8_x' };
    expect(() => new ReplicateProvider({ ...options, cancelAfter: '1m', timeoutMs: 120_000 })).toThrow(/shorter than timeoutMs/);
    expect(() => new ReplicateProvider({ ...options, cancelAfter: false, timeoutMs: 120_000 })).not.toThrow();
    expect(() => new ReplicateProvider({ ...options, preferWaitSeconds: 61 })).toThrow(RangeError);
  });
});

describe('validateReplicateWebhook', () => {
  const vector = {
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    timestamp: '1614265330',
    body: '{"test": 2432232314}',
    signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    now: 1614265330 * 1000,
  };

  it('accepts the documented test vector, also among several signatures', () => {
    expect(validateReplicateWebhook(vector)).toEqual({ ok: true });
    expect(validateReplicateWebhook({ ...vector, signature: `v1,AAAA ${vector.signature}` })).toEqual({ ok: true });
    expect(validateReplicateWebhook({ ...vector, body: Buffer.from(vector.body) })).toEqual({ ok: true });
    expect(signReplicateWebhook(vector)).toBe(vector.signature);
  });

  it('rejects a changed body, a wrong secret, a stale timestamp and missing headers', () => {
    expect(validateReplicateWebhook({ ...vector, body: '{"test": 2432232315}' })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(validateReplicateWebhook({ ...vector, secret: 'whsec_b3RoZXJzZWNyZXQ=' })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(validateReplicateWebhook({ ...vector, secret: 'whsec_!!' })).toEqual({ ok: false, reason: 'bad_secret' });
    expect(validateReplicateWebhook({ ...vector, now: (1614265330 + 301) * 1000 })).toEqual({ ok: false, reason: 'timestamp_out_of_tolerance' });
    expect(validateReplicateWebhook({ ...vector, now: (1614265330 + 301) * 1000, toleranceSec: 600 })).toEqual({ ok: true });
    expect(validateReplicateWebhook({ ...vector, timestamp: 'soon' })).toEqual({ ok: false, reason: 'bad_timestamp' });
    expect(validateReplicateWebhook({ ...vector, signature: undefined })).toEqual({ ok: false, reason: 'missing_headers' });
    expect(validateReplicateWebhook({ ...vector, signature: 'v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });
});
