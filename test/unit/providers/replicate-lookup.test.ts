import { describe, expect, it } from 'vitest';
import { isOurPrediction, pickEarlier, reachedOlder, type ListedPrediction } from '../../../src/core/providers/replicate/lookup.js';
import type { ReplicateParams } from '../../../src/core/providers/replicate/params.js';

const params: ReplicateParams = {
  model: 'black-forest-labs/flux-pro',
  input: { prompt: 'a lighthouse', aspect_ratio: '1:1', seed: 7, output_format: 'webp', prompt_upsampling: false },
};
const since = Date.parse('2026-03-01T12:00:00Z');
const hook = 'https://bot.example/webhooks/replicate?job=42&token=abc';

function listed(over: Partial<ListedPrediction> = {}): ListedPrediction {
  return { id: 'p1', model: params.model, input: { ...params.input }, created_at: '2026-03-01T12:00:05Z', status: 'processing', ...over };
}

describe('isOurPrediction', () => {
  it('matches the same model and exact input (seed included), ignoring fields the API filled in', () => {
    expect(isOurPrediction(listed({ input: { ...params.input, num_outputs: 1 } }), params, undefined, since)).toBe(true);
    expect(isOurPrediction(listed({ input: { ...params.input, seed: 8 } }), params, undefined, since)).toBe(false);
    expect(isOurPrediction(listed({ input: { ...params.input, prompt_upsampling: 'false' } }), params, undefined, since)).toBe(false);
    expect(isOurPrediction(listed({ model: 'black-forest-labs/flux-dev' }), params, undefined, since)).toBe(false);
    expect(isOurPrediction(listed({ input: undefined }), params, undefined, since)).toBe(false);
    expect(isOurPrediction(listed({ id: '' }), params, undefined, since)).toBe(false);
  });

  it('compares reference image lists item by item, in order', () => {
    const images = ['https://example.com/a.png', 'data:image/png;base64,iVBORw0KGgo='];
    const withImages: ReplicateParams = { model: 'black-forest-labs/flux-2-pro', input: { ...params.input, input_images: images } };
    const mine = (input_images: unknown) => listed({ model: withImages.model, input: { ...withImages.input, input_images } });
    expect(isOurPrediction(mine([...images]), withImages, undefined, since)).toBe(true);
    expect(isOurPrediction(mine([...images].reverse()), withImages, undefined, since)).toBe(false);
    expect(isOurPrediction(mine(images.slice(0, 1)), withImages, undefined, since)).toBe(false);
    // Listed with its images uploaded (links to files): not provably ours, so not resumed.
    expect(isOurPrediction(mine(['https://replicate.delivery/a', 'https://replicate.delivery/b']), withImages, undefined, since)).toBe(false);
  });

  it('refuses predictions created before `since`', () => {
    expect(isOurPrediction(listed({ created_at: '2026-03-01T11:59:59Z' }), params, undefined, since)).toBe(false);
    expect(isOurPrediction(listed({ created_at: '2026-03-01T12:00:00Z' }), params, undefined, since)).toBe(true);
  });

  it('with a webhook on both sides, the webhook URL (it carries the job id) decides', () => {
    expect(isOurPrediction(listed({ webhook: hook }), params, hook, since)).toBe(true);
    expect(isOurPrediction(listed({ webhook: hook.replace('job=42', 'job=43') }), params, hook, since)).toBe(false);
    // The list shows no webhook (it is not documented there): the input decides.
    expect(isOurPrediction(listed(), params, hook, since)).toBe(true);
  });
});

describe('pickEarlier', () => {
  const now = Date.parse('2026-03-01T12:10:00Z');

  it('prefers an output, then running, then queued, then failed; cancels the other running ones', () => {
    const queued = listed({ id: 'q', status: 'starting' });
    const running = listed({ id: 'r', status: 'processing' });
    const done = listed({ id: 'd', status: 'succeeded', output: 'https://x/y.webp', completed_at: '2026-03-01T12:09:00Z' });
    const failed = listed({ id: 'f', status: 'failed' });
    expect(pickEarlier([queued, running, done, failed], now)).toEqual({ resume: done, cancel: [queued, running] });
    expect(pickEarlier([failed, queued], now)).toEqual({ resume: queued, cancel: [] });
    expect(pickEarlier([failed], now)).toEqual({ resume: failed, cancel: [] });
  });

  it('of equals keeps the first listed (the newest)', () => {
    const newer = listed({ id: 'n', status: 'starting' });
    const older = listed({ id: 'o', status: 'starting' });
    expect(pickEarlier([newer, older], now)).toEqual({ resume: newer, cancel: [older] });
  });

  it('never resumes what was given up on or whose output is gone or about to be', () => {
    const found = [
      listed({ id: 'c', status: 'canceled' }),
      listed({ id: 'a', status: 'aborted' }),
      listed({ id: 'g', status: 'succeeded', data_removed: true }),
      listed({ id: 'e', status: 'succeeded', completed_at: '2026-03-01T11:15:00Z' }),
    ];
    expect(pickEarlier(found, now)).toEqual({ resume: undefined, cancel: [] });
  });
});

describe('reachedOlder', () => {
  it('is true once the last (oldest) prediction of a page predates `since`', () => {
    expect(reachedOlder([listed(), listed({ created_at: '2026-03-01T11:00:00Z' })], since)).toBe(true);
    expect(reachedOlder([listed()], since)).toBe(false);
    expect(reachedOlder([], since)).toBe(false);
  });
});
