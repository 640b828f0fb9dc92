import { describe, expect, it } from 'vitest';
import { parseFluxText } from '../../../src/bots/slack/flux-text.js';
import { fluxModal, readModal } from '../../../src/bots/slack/flux-modal.js';
import { galleryActionBlocks, imageButtonsMessage, parseGalleryButton } from '../../../src/bots/slack/image-buttons.js';
import { imageCaption } from '../../../src/bots/slack/slack-text.js';
import { parseFluxRequest } from '../../../src/core/request.js';
import type { ViewOutput } from '@slack/bolt';

const TS = '1700000000.000100';
const JOB = `j${'a'.repeat(32)}`;

describe('`count:` in /flux text', () => {
  it('takes 1 to 4; the request is a gallery from 2 on', () => {
    const parsed = parseFluxText('a fox count:4');
    expect(parsed).toEqual({ kind: 'request', input: { prompt: 'a fox', count: 4 } });
    const request = parseFluxRequest((parsed as { input: Record<string, unknown> }).input);
    expect(request.ok && request.request.count).toBe(4);
    expect(parseFluxText('a fox count:1')).toEqual({ kind: 'request', input: { prompt: 'a fox', count: 1 } });
  });

  it('refuses 0, 5, 2.5 and words with what it takes', () => {
    for (const v of ['0', '5', '2.5', 'four', '-1']) {
      expect(parseFluxText(`a fox count:${v}`)).toEqual({ kind: 'error', text: `\`${v}\` is not valid for count. \`count\` must be a whole number from 1 to 4.` });
    }
  });
});

describe('`count` in the /flux modal', () => {
  it('is a number input from 1 to 4, 1 to begin with', () => {
    const block = (fluxModal('C1').blocks as unknown as Array<{ block_id: string; element: Record<string, unknown> }>).find((b) => b.block_id === 'count');
    expect(block?.element).toMatchObject({ type: 'number_input', action_id: 'count', min_value: '1', max_value: '4', initial_value: '1', is_decimal_allowed: false });
  });

  it('reads a count, and answers 5 under its field', () => {
    const view = (count: string) =>
      ({ private_metadata: '{}', state: { values: { prompt: { prompt: { type: 'plain_text_input', value: 'a fox' } }, count: { count: { type: 'number_input', value: count } } } } }) as unknown as ViewOutput;
    expect(readModal(view('3'))).toEqual({ ok: true, input: { prompt: 'a fox', count: 3 } });
    expect(readModal(view('5'))).toEqual({ ok: false, errors: { count: '5 is not valid for count. count must be a whole number from 1 to 4.' } });
  });
});

describe('a gallery’s buttons', () => {
  it('Reroll and Delete, then V1…Vk and E1…Ek carrying the job and the image number', () => {
    const blocks = galleryActionBlocks({ messageId: TS, jobId: JOB }, 3) as unknown as Array<{ elements: Array<{ action_id: string; value: string; text: { text: string } }> }>;
    const labels = blocks.map((b) => b.elements.map((e) => e.text.text.replace(/^:[a-z0-9_]+: /, '')));
    expect(labels).toEqual([['Reroll', 'Delete'], ['V1', 'V2', 'V3'], ['E1', 'E2', 'E3']]);
    expect(blocks[1]!.elements.map((e) => [e.action_id, e.value])).toEqual([
      ['fluxbot_vary_1', `${TS}|${JOB}|1`],
      ['fluxbot_vary_2', `${TS}|${JOB}|2`],
      ['fluxbot_vary_3', `${TS}|${JOB}|3`],
    ]);
    expect(imageButtonsMessage({ messageId: TS, jobId: JOB }, 1).blocks).toHaveLength(1);
  });

  it('parses only values the bot wrote, with the action’s own number', () => {
    expect(parseGalleryButton('vary', 'fluxbot_vary_2', `${TS}|${JOB}|2`)).toEqual({ messageId: TS, jobId: JOB, n: 2 });
    expect(parseGalleryButton('edit', 'fluxbot_edit_4', `${TS}|${JOB}|4`)).toEqual({ messageId: TS, jobId: JOB, n: 4 });
    for (const [id, value] of [
      ['fluxbot_vary_2', `${TS}|${JOB}|3`],
      ['fluxbot_vary_5', `${TS}|${JOB}|5`],
      ['fluxbot_vary_2', `${TS}|${JOB}`],
      ['fluxbot_vary_2', `${TS}|${JOB}|2|2`],
      ['fluxbot_vary_2', `${TS}|jnotajob|2`],
      ['fluxbot_edit_2', `${TS}|${JOB}|2`],
      ['fluxbot_vary_2', 42],
    ] as const) {
      expect(parseGalleryButton('vary', id, value), `${id} ${String(value)}`).toBeUndefined();
    }
  });
});

describe('a gallery’s caption', () => {
  it('says how many of how many, why some are missing, all the seeds and the cost in all', () => {
    const text = imageCaption({
      prompt: 'four foxes',
      model: 'flux-pro',
      seed: 7,
      seeds: [7, 8, 9],
      width: 1024,
      height: 768,
      generationMs: 4200,
      userId: 'U1',
      provider: 'bfl',
      reroll: false,
      costMicros: 150_000,
      gallery: { shown: 3, asked: 4, shortfall: 'One image was refused by the provider’s safety filter <b>.' },
    });
    expect(text.split('\n')).toEqual([
      '*four foxes*',
      'FLUX.1 [pro] · seeds 7, 8, 9 · 1024×768 · 4.2 s · $0.15 in all · requested by <@U1>',
      '3 of 4 images — One image was refused by the provider’s safety filter &lt;b&gt;.',
    ]);
  });
});
