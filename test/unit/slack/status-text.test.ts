import { describe, expect, it } from 'vitest';
import { STATUS_KEPT, STATUS_SENT_PRIVATELY, statusText } from '../../../src/bots/slack/slack-text.js';

describe('Slack status text', () => {
  it('a done image says where it went when the channel refused it, whoever renders the final state', () => {
    expect(statusText('h', { kind: 'done' })).toContain('the image is in the thread');
    expect(statusText('h', { kind: 'done' }, 'private')).toBe(`h\n${STATUS_SENT_PRIVATELY}`);
    expect(statusText('h', { kind: 'done' }, 'kept')).toBe(`h\n${STATUS_KEPT}`);
    // Only the final "done" changes; a failure reads as a failure.
    expect(statusText('h', { kind: 'failed' }, 'kept')).toContain('No image this time');
  });
});
