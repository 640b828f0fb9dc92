import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isInputReference } from '../../../src/core/images/input-store.js';
import { FakeServer, makeImage } from '../../fakes/fake-server.js';
import { ScriptedProvider } from '../../fakes/scripted-provider.js';
import { LinkHosts } from '../../helpers/link-hosts.js';
import { CHANNEL, MEMBER, SlackHarness } from './harness.js';

/**
 * Reference images (`images`) on Slack through the real Bolt app against the fake Slack: `image:` repeated in the
 * text, several files in the modal (plus links), the files downloaded by the bot with its token (the person's own or
 * shared in the conversation), stored, and handed to the provider in order. Refusals are private, name the image,
 * and queue nothing. A recording provider stands in for the image service.
 */

let h: SlackHarness | undefined;
let hosts: LinkHosts;
let pages: FakeServer;
let provider: ScriptedProvider;

beforeAll(async () => {
  hosts = await LinkHosts.start(80, 64);
  pages = await new FakeServer((call, res) => {
    if (call.path === '/page.html') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
    res.writeHead(404).end();
  }).listen();
});
afterAll(async () => {
  await hosts.close();
  await pages.close();
});
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** Links on `images.test` (the test's stand-in for a public image host) pass the member-link guard. */
async function start(options: { worker?: boolean } = {}): Promise<SlackHarness> {
  provider = new ScriptedProvider('preview');
  h = await SlackHarness.start('http', {
    providers: [provider],
    ...options,
    core: { memberLinkGuard: { lookup: async (name) => (name === 'pages.test' ? [{ address: '127.0.0.1', family: 4 }] : hosts.dns(name)), trustedAddresses: ['127.0.0.1'] } },
  });
  return h;
}

const dataUri = (bytes: Buffer, type = 'image/png') => `data:${type};base64,${bytes.toString('base64')}`;
const catLink = () => `http://images.test:${hosts.port}/cat.png`;

/** The private answer to a slash command (its response_url post). */
async function answerTo(harness: SlackHarness, text: string): Promise<string> {
  const command = await harness.fake.slashCommand({ user: MEMBER, channel: CHANNEL, text });
  const ack = (command.body as { text?: string } | undefined)?.text;
  if (ack) return ack;
  const post = await harness.fake.until(() => harness.fake.responsesTo(command.responseUrl)[0], 10_000, `the answer to ${text}`);
  return String((post.body as { text?: unknown }).text);
}

async function expectNothingQueued(harness: SlackHarness): Promise<void> {
  expect(await harness.jobCount()).toBe(0);
  expect(await harness.usedToday(MEMBER)).toBe(0);
  expect(harness.fake.callsTo('chat.postMessage')).toEqual([]);
  expect(provider.calls).toEqual([]);
}

describe('reference images on Slack', () => {
  it('`image:` repeated in the text: a link and a Slack file reach the provider in the order written', async () => {
    const harness = await start();
    const sofa = await makeImage(96, 80, 'png', '#aa3300');
    const file = harness.fake.addFile(sofa, { name: 'sofa.png', user: MEMBER });

    await harness.fake.slashCommand({ user: MEMBER, channel: CHANNEL, text: `put the cat on the sofa model:flux-2-pro image:${catLink()} image:${file.id}` });
    const [image] = await harness.delivered(1);

    expect(provider.calls[0]!.request.images).toEqual([catLink(), dataUri(sofa)]);
    const record = await harness.core.records.find('slack', image?.ts ?? '');
    const [link, stored] = record!.request.images!;
    expect(link).toBe(catLink());
    expect(isInputReference(stored)).toBe(true);
    const download = harness.fake.http.calls.find((c) => c.path.startsWith('/files-pri/'));
    expect(download?.headers.authorization).toBe(`Bearer ${harness.fake.config.botToken}`);
  });

  it('several files in the modal, then links, reach the provider in that order', async () => {
    const harness = await start();
    await harness.fake.slashCommand({ user: MEMBER, channel: CHANNEL });
    const opened = await harness.fake.waitForCall('views.open');
    const blocks = (opened.args.view as { blocks: Array<{ block_id: string; element: Record<string, unknown> }> }).blocks;
    expect(blocks.find((b) => b.block_id === 'image')?.element).toMatchObject({ type: 'file_input', max_files: 10 });
    expect(blocks.find((b) => b.block_id === 'image_links')?.element).toMatchObject({ type: 'plain_text_input', multiline: true });
    const one = await makeImage(96, 80, 'png', '#112233');
    const two = await makeImage(64, 72, 'jpeg', '#445566');
    const first = harness.fake.addFile(one, { name: 'one.png', user: MEMBER });
    const second = harness.fake.addFile(two, { name: 'two.jpg', mimetype: 'image/jpeg', user: MEMBER });

    const done = await harness.fake.viewSubmission({
      inputs: { prompt: 'combine these', model: 'flux-2-pro', image: [first.id, second.id], image_links: `\n${catLink()}\n` },
    });
    expect(done.ok).toBe(true);
    await harness.delivered(1);
    expect(provider.calls[0]!.request.images).toEqual([dataUri(one), dataUri(two, 'image/jpeg'), catLink()]);
  });

  it('refuses a file that is no image under the modal field, naming it, and submits nothing', async () => {
    const harness = await start({ worker: false });
    await harness.fake.slashCommand({ user: MEMBER, channel: CHANNEL });
    await harness.fake.waitForCall('views.open');
    const good = harness.fake.addFile(await makeImage(96, 80), { name: 'sofa.png', user: MEMBER });
    const text = harness.fake.addFile(Buffer.from('just text'), { name: 'notes.txt', user: MEMBER });
    const bad = await harness.fake.viewSubmission({ inputs: { prompt: 'x', model: 'flux-2-pro', image: [good.id, text.id] } });
    expect(bad.body).toEqual({ response_action: 'errors', errors: { image: 'Image 2 (notes.txt) is not a PNG, JPEG, WebP or GIF image.' } });
    const badLink = await harness.fake.viewSubmission({ inputs: { prompt: 'x', model: 'flux-2-pro', image_links: 'ftp://example.com/a.png' } });
    expect(badLink.body).toEqual({ response_action: 'errors', errors: { image_links: 'Image 1: ftp://example.com/a.png is not a link.' } });
    const none = await harness.fake.viewSubmission({ inputs: { prompt: 'make it night', model: 'flux-kontext-pro' } });
    expect(none.body).toEqual({ response_action: 'errors', errors: { image: 'Flux-kontext-pro edits an image: give a reference image (images).' } });
    await expectNothingQueued(harness);
  });

  it('refuses privately, naming the image, with nothing queued: a text file, someone else’s file, a link that is no image, too many for the model', async () => {
    const harness = await start();
    const png = await makeImage(96, 80);
    const text = harness.fake.addFile(Buffer.from('%PDF-1.4'), { name: 'doc.pdf', mimetype: 'application/pdf', user: MEMBER });
    const hidden = harness.fake.addFile(png, { name: 'private.png', user: 'U0SOMEONE' });
    const lying = harness.fake.addFile(Buffer.from('not really a png'), { name: 'fake.png', mimetype: 'image/png', user: MEMBER });
    const page = `http://pages.test:${pages.port}/page.html`;

    expect(await answerTo(harness, `x model:flux-2-pro image:${catLink()} image:${text.id}`)).toBe('Image 2 (doc.pdf): it is not a PNG, JPEG, WebP or GIF image.');
    expect(await answerTo(harness, `x model:flux-2-pro image:${hidden.id}`)).toBe(
      'Image 1: the Slack file could not be found, or it is neither yours nor shared in this conversation.',
    );
    expect(await answerTo(harness, `x model:flux-2-pro image:${lying.id}`)).toBe('Image 1 (fake.png): it is not an image (a PNG, JPEG, WebP or GIF file).');
    expect(await answerTo(harness, `x model:flux-2-pro image:${page}`)).toBe('Image 1 (page.html): the link does not point to an image (it is text/html).');
    expect(await answerTo(harness, `x model:flux-schnell image:${catLink()} image:${catLink()}`)).toMatch(/^Images: flux-schnell takes no reference images/);
    expect(await answerTo(harness, 'x model:flux-2-pro image:not-a-link')).toMatch(/`not-a-link` is not a link/);
    // The hidden file's bytes were never fetched.
    expect(harness.fake.http.calls.filter((c) => c.path.includes(hidden.id))).toEqual([]);
    await expectNothingQueued(harness);
  });
});
