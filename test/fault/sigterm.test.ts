import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ReplicateFake } from '../fakes/replicate-fake.js';
import { dropPrefix } from '../helpers/core.js';
import { SlackDeployment } from '../helpers/slack-deployment.js';

let replicate: ReplicateFake;
let deployment: SlackDeployment;

beforeEach(async () => {
  replicate = await ReplicateFake.start({ latencyMs: 3000 });
  deployment = await SlackDeployment.start({ REPLICATE_API_TOKEN: replicate.token, REPLICATE_API_URL: replicate.baseUrl });
});
afterEach(async () => {
  await deployment.close();
  await replicate.close();
  await dropPrefix(deployment.prefix);
});

const predictionStarted = () => replicate.waitFor((c) => c.method === 'POST' && c.path.endsWith('/predictions'), 20_000);

// Replicate's sync mode (Prefer: wait) answers the create only when the prediction is done, so a job handed back
// before that carries no prediction id yet and its successor starts a new prediction; resuming a checkpointed one is
// covered by test/integration/queue/crash-shutdown.test.ts. What must hold here: delivered exactly once.
// Exit code 0 means the shutdown finished on its own: main.ts exits with 1 when SHUTDOWN_TIMEOUT_MS (+5 s) passes first.
describe('SIGTERM to each role mid-job (real processes)', () => {
  it('worker: lets the running job finish within the deadline, then exits', async () => {
    await deployment.add('bot');
    const worker = await deployment.add('worker', { SHUTDOWN_TIMEOUT_MS: '20000' });
    await deployment.flux(0, 'finish-me a lighthouse');
    await predictionStarted();
    expect(await worker.kill('SIGTERM')).toBe(0);
    expect(deployment.imagesTagged('finish-me')).toHaveLength(1);
    expect(worker.lines('job delivered')).toHaveLength(1);
  });

  it('worker: hands a job that outlasts the deadline back; another worker resumes the same prediction and delivers once', async () => {
    await deployment.add('bot');
    const first = await deployment.add('worker', { SHUTDOWN_TIMEOUT_MS: '300' });
    await deployment.flux(0, 'hand-back a lighthouse');
    await predictionStarted();
    expect(await first.kill('SIGTERM')).toBe(0);
    expect(deployment.images()).toHaveLength(0);

    const second = await deployment.add('worker');
    await deployment.delivered(1);
    expect(deployment.imagesTagged('hand-back')).toHaveLength(1);
    await expect.poll(() => second.lines('job delivered').length, { timeout: 10_000 }).toBe(1);
  });

  it('bot: stops taking commands and exits; the jobs it queued are still delivered by the workers', async () => {
    const bot = await deployment.add('bot', { SHUTDOWN_TIMEOUT_MS: '5000' });
    await deployment.add('worker');
    for (let i = 0; i < 3; i++) expect((await deployment.flux(i, `bot-gone-${i} a lighthouse`)).ok).toBe(true);
    await predictionStarted();
    const port = bot.slackPort;
    expect(await bot.kill('SIGTERM')).toBe(0);
    expect(bot.lines('shutting down')).toHaveLength(1);
    // Nothing listens for commands any more (behind a load balancer, another bot process takes them).
    await expect(fetch(`http://127.0.0.1:${port}/slack/events`, { method: 'POST', body: '' })).rejects.toThrow();
    await deployment.delivered(3);
    for (let i = 0; i < 3; i++) expect(deployment.imagesTagged(`bot-gone-${i} `)).toHaveLength(1);
  });

  it('bot: a command acked just before SIGTERM is still queued before the process exits, and delivered', async () => {
    const bot = await deployment.add('bot', { SHUTDOWN_TIMEOUT_MS: '5000' });
    await deployment.add('worker');
    // The status message (posted after the ack, before the enqueue) is held back a second by a 429: the SIGTERM
    // lands while the command is acked but not yet queued.
    deployment.slack.rateLimitNext('chat.postMessage', 1);
    expect((await deployment.flux(0, 'acked-then-term a lighthouse')).ok).toBe(true);
    await deployment.slack.until(() => deployment.slack.callsTo('chat.postMessage').find((c) => c.status === 429), 5_000, 'the held status post');
    expect(await bot.kill('SIGTERM')).toBe(0);
    // The bot exited only after it had retried the post and queued the job: a worker delivers it.
    // (The first two posts: a worker may already have delivered and posted the image's buttons after them.)
    expect(deployment.slack.callsTo('chat.postMessage').map((c) => c.status).slice(0, 2)).toEqual([429, 200]);
    await deployment.delivered(1);
    expect(deployment.imagesTagged('acked-then-term')).toHaveLength(1);
  });

  it('all: hands the running job back on a short deadline; the next process delivers it once', async () => {
    const first = await deployment.add('all', { SHUTDOWN_TIMEOUT_MS: '300' });
    await deployment.flux(0, 'all-role a lighthouse');
    await predictionStarted();
    expect(await first.kill('SIGTERM')).toBe(0);
    expect(deployment.images()).toHaveLength(0);

    await deployment.add('all');
    await deployment.delivered(1);
    expect(deployment.imagesTagged('all-role')).toHaveLength(1);
  });
});
