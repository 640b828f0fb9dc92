import { describe, expect, it } from 'vitest';
import { expectUnsupported } from '../../helpers/refusal.js';
import { CATALOGUE, TUNABLE_FIELDS, type TunableField } from '../../../src/core/catalogue/index.js';
import { MODEL_IDS, MODELS, OUTPUT_FORMATS, pixelSize, type AspectRatio, type ModelId } from '../../../src/core/models.js';
import { bflParams } from '../../../src/core/providers/bfl/params.js';
import { falMakesMany, toFalCall } from '../../../src/core/providers/fal/params.js';
import { toReplicateParams } from '../../../src/core/providers/replicate/params.js';
import { parseFluxRequest, type FluxRequest, type FluxRequestInput } from '../../../src/core/request.js';
import { MAPPED_PROVIDERS, ROWS, type FieldRow, type ImagesRow, type MappedProvider, type Row } from './catalogue-rows.js';

/**
 * Generated from the catalogue: every model × provider pair is checked against its hand-written row in
 * catalogue-rows.ts (id or endpoint, size shape, each field's name and converted value, formats, and each refusal
 * naming its field, and how reference images are sent). A model without a row, or a row that misses a field the
 * model accepts, fails here.
 */

const LINK = 'https://example.com/ref.png';
/** A value for each field that every model accepting it allows, and that differs from every default. */
const TEST_VALUES: Record<TunableField, unknown> = {
  image_prompt: LINK,
  steps: 3,
  guidance: 4,
  interval: 3,
  safety_tolerance: 1,
  prompt_upsampling: true,
  output_quality: 60,
  raw: true,
  image_prompt_strength: 0.3,
};

/** Reference image links, `ref-1.png` … in order. */
const refs = (count: number) => Array.from({ length: count }, (_, i) => `https://example.com/ref-${i + 1}.png`);

/** A model that edits (Kontext) always gets one reference image unless the input gives its own. */
function withRequiredImage(model: ModelId, input: Partial<FluxRequestInput>): Partial<FluxRequestInput> {
  return MODELS[model].images?.required && input.images === undefined ? { images: refs(1), ...input } : input;
}

function req(model: ModelId, input: Partial<FluxRequestInput> = {}): FluxRequest {
  const parsed = parseFluxRequest({ prompt: 'a lighthouse at dawn', seed: 7, model, ...withRequiredImage(model, input) });
  if (!parsed.ok) throw parsed.error;
  return parsed.request;
}

/** What the provider is sent, flattened: the input or body plus the values our re-encoding and fetcher use. */
function send(provider: MappedProvider, request: FluxRequest): { id: string; sent: Record<string, unknown> } {
  if (provider === 'replicate' || provider === 'cog') {
    const params = toReplicateParams(request, provider);
    return { id: params.model, sent: params.input };
  }
  if (provider === 'fal') {
    const call = toFalCall(request);
    return { id: call.modelId, sent: { ...call.input, quality: call.quality } };
  }
  // BFL's image prompt and reference images are sent as base64 once fetched; the mapping hands over what to fetch.
  const params = bflParams(request);
  const images = Object.fromEntries(params.images.map((image) => [image.field, image.source]));
  return { id: params.endpoint, sent: { ...params.body, ...images, image_prompt: params.imagePrompt, quality: params.quality } };
}

/** The fields a model accepts, read from its catalogue entry. */
function acceptedFields(model: ModelId): TunableField[] {
  const spec = MODELS[model];
  const accepts: Record<TunableField, boolean> = {
    image_prompt: spec.imagePrompt,
    steps: spec.steps !== undefined,
    guidance: spec.guidance !== undefined,
    interval: spec.interval !== undefined,
    safety_tolerance: spec.safetyTolerance !== undefined,
    prompt_upsampling: spec.promptUpsampling,
    output_quality: spec.outputQuality,
    raw: spec.raw,
    image_prompt_strength: spec.imagePromptStrength !== undefined,
  };
  return TUNABLE_FIELDS.filter((field) => accepts[field]);
}

function sizeInput(ratio: AspectRatio): Partial<FluxRequestInput> {
  return ratio === 'custom' ? { aspect_ratio: 'custom', width: 512, height: 768 } : { aspect_ratio: ratio };
}

/** The fields an images row says the links arrive in, written out independently of the adapters' helper. */
function expectedImages(row: NonNullable<ImagesRow>, links: string[]): Record<string, unknown> {
  if (row.shape === 'array') return { [row.as]: links };
  if (row.shape === 'single') return { [row.as]: links[0] };
  return Object.fromEntries(links.map((link, i) => [i === 0 ? row.as : `${row.as}_${i + 1}`, link]));
}

function checkSize(row: Row, model: ModelId, ratio: AspectRatio, sent: Record<string, unknown>): void {
  const { width, height } = pixelSize(model, ratio, ratio === 'custom' ? { width: 512, height: 768 } : undefined);
  if (row.size === 'pixels') expect(sent).toMatchObject({ width, height });
  else if (row.size === 'image_size') expect(sent.image_size).toStrictEqual({ width, height });
  else {
    expect(sent.aspect_ratio).toBe(ratio);
    expect(sent.width).toBe(ratio === 'custom' ? width : undefined);
  }
}

describe('the catalogue covers every model', () => {
  it('has one entry per model id, and the preview provider serves each under its own id', () => {
    expect(Object.keys(CATALOGUE).sort()).toStrictEqual([...MODEL_IDS].sort());
    for (const model of MODEL_IDS) expect(MODELS[model].providerIds.preview).toBe(model);
  });

  for (const model of MODEL_IDS) {
    it(`${model}: the request refuses every field the model does not take, naming it`, () => {
      for (const field of TUNABLE_FIELDS.filter((f) => !acceptedFields(model).includes(f))) {
        const parsed = parseFluxRequest({ prompt: 'x', model, ...withRequiredImage(model, {}), [field]: TEST_VALUES[field] });
        expect(parsed.ok, field).toBe(false);
        if (!parsed.ok) expect(parsed.error.field).toBe(field);
      }
    });
  }
});

for (const provider of MAPPED_PROVIDERS) {
  describe(`${provider}: every model maps as its row says`, () => {
    for (const model of MODEL_IDS) {
      const row = ROWS[provider][model];
      if (row.id === null) {
        it(`${model}: not served, refused naming the model`, () => {
          expect(expectUnsupported(() => send(provider, req(model))).field).toBe('model');
        });
        continue;
      }

      it(`${model}: id ${row.id}, fixed fields, formats`, () => {
        const { id, sent } = send(provider, req(model));
        expect(id).toBe(row.id);
        expect(sent).toMatchObject({ prompt: 'a lighthouse at dawn', seed: 7, ...row.fixed });
        for (const format of OUTPUT_FORMATS) {
          expect(send(provider, req(model, { output_format: format })).sent.output_format, format).toBe(row.formats?.[format]);
        }
      });

      it(`${model}: each aspect ratio gives the provider's size shape, or is refused naming the field`, () => {
        for (const ratio of MODELS[model].aspectRatios) {
          const request = req(model, sizeInput(ratio));
          if (row.refusedRatios?.includes(ratio)) {
            expect(expectUnsupported(() => send(provider, request)).field, ratio).toBe('aspect_ratio');
          } else {
            checkSize(row, model, ratio, send(provider, request).sent);
          }
        }
      });

      it(`${model}: each field the model takes is named and converted, or refused naming it`, () => {
        expect(Object.keys(row.fields ?? {}).sort()).toStrictEqual(acceptedFields(model).sort());
        for (const [field, expected] of Object.entries(row.fields ?? {}) as Array<[TunableField, FieldRow]>) {
          // The strength only applies with an image prompt.
          const withImage = field === 'image_prompt_strength' ? { image_prompt: LINK } : {};
          const request = req(model, { ...withImage, [field]: TEST_VALUES[field] });
          if (expected === null) {
            expect(expectUnsupported(() => send(provider, request)).field, field).toBe(field);
            continue;
          }
          const { sent } = send(provider, request);
          const [name, value] = Array.isArray(expected) ? expected : [expected, TEST_VALUES[field]];
          expect(sent[name], `${field} → ${name}`).toStrictEqual(value);
          if (name === 'quality') expect(sent).not.toHaveProperty('output_quality');
        }
        for (const [field, value] of Object.entries(row.outOfRange ?? {})) {
          expect(expectUnsupported(() => send(provider, req(model, { [field]: value }))).field, field).toBe(field);
        }
      });

      if (provider === 'fal') {
        it(`${model}: a gallery is ${row.numImages ? 'one call with num_images' : 'refused in one call (made one call per image)'}${row.images?.id ? ', with and without images' : ''}`, () => {
          const cases: Array<[Partial<FluxRequestInput>, boolean]> = [[{}, row.numImages === true]];
          if (row.images?.id !== undefined) cases.push([{ images: refs(1) }, row.images.numImages === true]);
          for (const [input, oneCall] of cases) {
            const what = input.images ? 'with images' : 'without images';
            expect(send(provider, req(model, input)).sent, `${what}: one image sends no num_images`).not.toHaveProperty('num_images');
            for (const count of [2, 4]) {
              const gallery = req(model, { ...input, count });
              expect(falMakesMany(gallery), `${what}, count ${count}`).toBe(oneCall);
              if (oneCall) expect(send(provider, gallery).sent.num_images, `${what}, count ${count}`).toBe(count);
              else expect(() => send(provider, gallery), `${what}, count ${count}`).toThrow(/makes one image per call/);
            }
          }
        });
      }

      const takes = MODELS[model].images;
      if (takes !== undefined) {
        it(`${model}: reference images are sent as the row says, in order; more than the provider takes are refused naming images`, () => {
          const images = row.images;
          expect(images, 'a row for a model with reference images says how they are sent').toBeDefined();
          if (images === null || images === undefined) {
            expect(expectUnsupported(() => send(provider, req(model, { images: refs(1) }))).field).toBe('images');
            return;
          }
          const most = Math.min(takes.max, images.max);
          for (const count of new Set([1, Math.min(2, most), most])) {
            const { id, sent } = send(provider, req(model, { images: refs(count) }));
            expect(id, `${count} images`).toBe(images.id ?? row.id);
            expect(sent, `${count} images`).toMatchObject(expectedImages(images, refs(count)));
            // Nothing past the last image is sent.
            expect(Object.keys(sent).filter((key) => key.startsWith(images.as)).length).toBe(images.shape === 'numbered' ? count : 1);
          }
          if (takes.max > images.max) {
            expect(expectUnsupported(() => send(provider, req(model, { images: refs(images.max + 1) }))).field).toBe('images');
          }
          if (images.id === undefined && !takes.required) {
            // Without images the call is the text-to-image one, with no image field at all.
            const { sent } = send(provider, req(model));
            expect(Object.keys(sent).some((key) => key.startsWith(images.as))).toBe(false);
          }
        });
      }
    }
  });
}
