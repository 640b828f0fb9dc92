import { describe, expect, it } from 'vitest';
import { parseAdminText } from '../../../src/bots/slack/admin-text.js';
import { parseFluxText, slackFileId } from '../../../src/bots/slack/flux-text.js';

describe('parseFluxText (/flux free text with key:value options)', () => {
  it('takes the free text as the prompt and typed options as request fields', () => {
    expect(parseFluxText('a lighthouse at dawn aspect_ratio:16:9 seed:42 guidance:3.5 prompt_upsampling:yes model:FLUX-DEV')).toEqual({
      kind: 'request',
      input: { prompt: 'a lighthouse at dawn', aspect_ratio: '16:9', seed: 42, guidance: 3.5, prompt_upsampling: true, model: 'flux-dev' },
    });
  });

  it('keeps quoted runs together, straight or curly, as prompt text or as an option value', () => {
    expect(parseFluxText('“a cat: the musical” output_format:"png"')).toMatchObject({ input: { prompt: 'a cat: the musical', output_format: 'png' } });
    expect(parseFluxText('image_prompt:"https://example.com/a b.png" a cat')).toMatchObject({ input: { prompt: 'a cat', image_prompt: 'https://example.com/a b.png' } });
  });

  it('leaves times, links and apostrophes in the prompt alone', () => {
    expect(parseFluxText("a clock at 12:30, in the style of https://example.com/art, it's late")).toMatchObject({
      input: { prompt: "a clock at 12:30, in the style of https://example.com/art, it's late" },
    });
  });

  it('undoes Slack escaping of links and &, <, >', () => {
    expect(parseFluxText('cats &amp; dogs &lt;3 image_prompt_url:<https://example.com/x.png|x.png>')).toMatchObject({
      input: { prompt: 'cats & dogs <3', image_prompt: 'https://example.com/x.png' },
    });
  });

  it('opens the modal for empty text and help', () => {
    expect(parseFluxText('   ')).toEqual({ kind: 'help' });
    expect(parseFluxText('HELP')).toEqual({ kind: 'help' });
  });

  it('recognises Slack files by id, private URL and permalink (downloaded by the bot, never by the provider)', () => {
    expect(parseFluxText('a cat image_prompt:F0ABCDEF12')).toMatchObject({ slackFile: { fileId: 'F0ABCDEF12' }, input: { prompt: 'a cat' } });
    expect(slackFileId('https://files.slack.com/files-pri/T0FAKE-F0ABCDEF12/download/ref.png')).toBe('F0ABCDEF12');
    expect(slackFileId('https://acme.slack.com/files/U0MEMBER/F0ABCDEF12/ref.png')).toBe('F0ABCDEF12');
    expect(slackFileId('https://example.com/F0ABCDEF12.png')).toBeUndefined();
  });
});

describe('parseAdminText (/flux-admin)', () => {
  it('reads the subcommand, an escaped mention or `server`, keyed limits, an amount and a reason', () => {
    expect(parseAdminText('set <@U0MEMBER|max> daily:5 concurrent:-1')).toEqual({ ok: true, input: { subcommand: 'set', user: 'U0MEMBER', daily: 5, concurrent: -1 } });
    expect(parseAdminText('grant 25 server')).toEqual({ ok: true, input: { subcommand: 'grant', amount: 25 } });
    expect(parseAdminText('ban <@U0OTHER> too many   dragons')).toEqual({ ok: true, input: { subcommand: 'ban', user: 'U0OTHER', reason: 'too many dragons' } });
    expect(parseAdminText('show')).toEqual({ ok: true, input: { subcommand: 'show' } });
  });

  it('refuses what the definitions do not allow, saying what is expected', () => {
    expect(parseAdminText('set <@U0MEMBER> daily:lots')).toMatchObject({ ok: false, text: expect.stringContaining('`daily` must be a whole number from -1') });
    expect(parseAdminText('grant 0 <@U0MEMBER>')).toMatchObject({ ok: false, text: expect.stringContaining('`amount` must be a whole number from 1 to 10000') });
    expect(parseAdminText('unban')).toMatchObject({ ok: false, text: expect.stringContaining('`unban` needs a member') });
    expect(parseAdminText('reset <@U0MEMBER> please')).toMatchObject({ ok: false, text: expect.stringContaining('I don’t understand `please`') });
    expect(parseAdminText('nuke')).toMatchObject({ ok: false, text: expect.stringContaining('• `ban <@member> [reason…]`') });
  });
});
