import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { webApi } from '@slack/bolt';
import { REST, Routes } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, logger: createLogger({ level: 'info', format: 'json', destination: stream }) };
}

describe('logger', () => {
  it('writes JSON lines and redacts tokens, keys and auth headers wherever they appear', () => {
    const { lines, logger } = capture();
    const config = loadConfig({ DISCORD_TOKEN: 'discord-secret', REPLICATE_API_TOKEN: 'r8_secret', FAL_KEY: 'fal-secret' });
    logger.info({ settings: config }, 'started');
    logger.child({ jobId: 'j1' }).warn({ req: { headers: { authorization: 'Bearer r8_secret', 'x-key': 'bfl-secret' } } }, 'call');
    logger.info({ token: 'tok-secret', provider: { apiKey: 'k-secret' } }, 'x');
    const hooks = loadConfig({ PUBLIC_URL: 'https://bot.example.com', WEBHOOK_SECRET: 'hook-secret-0123456789', REPLICATE_WEBHOOK_SECRET: 'whsec_c2VjcmV0', REDIS_URL: 'redis://:redis-secret@10.0.0.5:6379' });
    logger.info({ settings: hooks }, 'started');
    const text = lines.join('');
    for (const secret of ['discord-secret', 'r8_secret', 'fal-secret', 'bfl-secret', 'tok-secret', 'k-secret', 'hook-secret', 'whsec_c2VjcmV0', 'redis-secret']) expect(text).not.toContain(secret);
    const first = JSON.parse(lines[0]!) as { msg: string; settings: { DISCORD_TOKEN: string; REDIS_URL: string } };
    expect(first.msg).toBe('started');
    expect(first.settings.DISCORD_TOKEN).toBe('[redacted]');
    expect(first.settings.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(JSON.parse(lines[1]!)).toMatchObject({ jobId: 'j1', level: 40 });
  });
});

describe('logger: secret keys at any depth', () => {
  it('redacts a token under a key that names one however deep it sits (a job target carrying an interaction token)', () => {
    const { lines, logger } = capture();
    logger.info({ job: { data: { target: { channelId: 'c1', extra: { interactionToken: 'aW50ZXJhY3Rpb24tdG9rZW4', applicationId: '42' } } } } }, 'job');
    const line = JSON.parse(lines[0]!) as { job: { data: { target: { channelId: string; extra: Record<string, string> } } } };
    expect(line.job.data.target.extra).toEqual({ interactionToken: '[redacted]', applicationId: '42' });
    expect(line.job.data.target.channelId).toBe('c1');
  });
});

describe('logger: secrets inside values', () => {
  it('drops the request (and its Authorization header) a failed Slack Web API call carries', async () => {
    const { lines, logger } = capture();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    // The WebClient's defaults: the original request error (with its config and headers) rides on the error.
    const client = new webApi.WebClient('xoxb-1111-2222-secretslack', { slackApiUrl: `http://127.0.0.1:${port}/api/`, retryConfig: { retries: 0 }, logLevel: webApi.LogLevel.ERROR });
    const err = await client.chat.postMessage({ channel: 'C1', text: 'hi' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(JSON.stringify(Object.keys(err as object))).toContain('original');
    logger.warn({ err }, 'post failed');
    logger.error(err as Error);
    const text = lines.join('');
    expect(text).not.toContain('secretslack');
    const line = JSON.parse(lines[0]!) as { err: { code: string; original?: unknown; message: string } };
    expect(line.err.code).toBe('slack_webapi_request_error');
    expect(line.err.original).toBeUndefined();
    expect(line.err.message).toContain('ECONNREFUSED');
  });

  it('blanks the interaction token in a DiscordAPIError’s url, however the error is logged', async () => {
    const { lines, logger } = capture();
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Unknown Webhook', code: 10015 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const rest = new REST({ api: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, retries: 0 }).setToken('unused');
    const token = 'aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXRpbnRlcmFjdGlvbg';
    const err = await rest.patch(Routes.webhookMessage('123456789012345678', token, '@original'), { body: { content: 'x' }, auth: false }).then(
      () => undefined,
      (e: unknown) => e,
    );
    server.close();
    expect((err as { url: string }).url).toContain(token);
    logger.warn({ err }, 'edit failed');
    logger.info({ nested: { error: err, url: `https://discord.com/api/v10/interactions/1/${token}/callback` } }, `failed at /webhooks/1/${token}`);
    const text = lines.join('');
    expect(text).not.toContain(token);
    expect(JSON.parse(lines[0]!)).toMatchObject({ err: { code: 10015, status: 404, url: expect.stringContaining('/webhooks/123456789012345678/[redacted]') } });
  });

  it('scrubs tokens in messages, query strings and headers-as-text, and survives circular objects', () => {
    const { lines, logger } = capture();
    const circular: Record<string, unknown> = { url: 'http://127.0.0.1:8080/webhooks/replicate?job=j1&token=hooksecret' };
    circular.self = circular;
    logger.warn({ circular, note: 'Authorization: Bearer r8_abcdefsecret' }, 'handler failed for Bearer abcdefghsecret');
    const text = lines.join('');
    for (const secret of ['hooksecret', 'abcdefsecret', 'abcdefghsecret']) expect(text).not.toContain(secret);
    expect(JSON.parse(lines[0]!)).toMatchObject({ circular: { url: expect.stringContaining('job=j1&token=[redacted]'), self: '[Circular]' } });
  });
});
