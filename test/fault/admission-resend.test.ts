import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FluxbotCore } from '../../src/core/core.js';
import { guildKey, userKey } from '../../src/core/ports.js';
import { dropPrefix, makeCore, person } from '../helpers/core.js';

let core: FluxbotCore;
beforeEach(async () => {
  core = await makeCore();
});
afterEach(async () => {
  await core.close(1000);
  await dropPrefix(core.prefix);
});

describe('admission when Redis drops the reply', () => {
  const alice = person('alice');
  const input = { jobId: 'jresent1', dedupeKey: 'slack:trigger:resent', userKey: userKey(alice), guildKey: guildKey(alice) };

  it('a resent admission (same call: same job id and dedupe key) is accepted again and charged once', async () => {
    // ioredis resends a command whose reply was lost when the connection dropped: Redis runs the script twice.
    expect(await core.quotas.admit(input)).toMatchObject({ status: 'accepted', jobId: 'jresent1', position: 1 });
    expect(await core.quotas.admit(input)).toMatchObject({ status: 'accepted', jobId: 'jresent1', position: 1 });
    const view = await core.admin.userView(userKey(alice), guildKey(alice));
    expect([view.usedToday, view.inFlight]).toEqual([1, 1]);
  });

  it('another call with the same dedupe key (a platform retry) is still a duplicate', async () => {
    await core.quotas.admit(input);
    expect(await core.quotas.admit({ ...input, jobId: 'jretry2' })).toEqual({ status: 'duplicate', jobId: 'jresent1' });
  });
});
