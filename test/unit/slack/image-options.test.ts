import { describe, expect, it } from 'vitest';
import { parseFluxText } from '../../../src/bots/slack/flux-text.js';
import { fileStandIn, imagesInput } from '../../../src/bots/slack/reference-files.js';

describe('`image:` in /flux text', () => {
  it('is repeatable: each adds one image, links and Slack files, in the order written', () => {
    const parsed = parseFluxText(
      'put the cat on the sofa image:https://example.com/sofa.png model:flux-2-pro image:F0CAT12345 image:<https://team.slack.com/files/U1/F0DOG12345/dog.png>',
    );
    expect(parsed).toMatchObject({
      kind: 'request',
      input: { prompt: 'put the cat on the sofa', model: 'flux-2-pro' },
      images: [{ link: 'https://example.com/sofa.png' }, { fileId: 'F0CAT12345' }, { fileId: 'F0DOG12345' }],
    });
  });

  it('takes Discord’s numbered slots as more images, and refuses a value that is no link', () => {
    expect(parseFluxText('x image_2:https://example.com/b.png image:https://example.com/a.png')).toMatchObject({
      images: [{ link: 'https://example.com/b.png' }, { link: 'https://example.com/a.png' }],
    });
    expect(parseFluxText('x image:cat.png')).toEqual({ kind: 'error', text: expect.stringMatching(/^`cat.png` is not a link\. `image` must be an https link/) });
    expect(parseFluxText('x image:')).toEqual({ kind: 'error', text: expect.stringMatching(/^`image` has no value/) });
  });

  it('leaves requests without images as they were', () => {
    expect(parseFluxText('a cat seed:4')).toEqual({ kind: 'request', input: { prompt: 'a cat', seed: 4 } });
  });

  it('puts Slack files in the parser’s list as stand-in links, replaced once stored', () => {
    expect(imagesInput([{ link: 'https://example.com/a.png' }, { fileId: 'F0CAT12345' }])).toEqual(['https://example.com/a.png', fileStandIn('F0CAT12345')]);
  });
});
