import { afterEach, describe, expect, it } from 'vitest';
import { plainTime, refusalText } from '../../../src/commands/replies.js';
import type { FluxbotCore } from '../../../src/core/core.js';
import { guildKey, userKey } from '../../../src/core/ports.js';
import { dropPrefix, fluxRequest, makeCore, person, target } from '../../helpers/core.js';

let core: FluxbotCore;
afterEach(async () => {
  await core.close(500);
  await dropPrefix(core.prefix);
});

describe('ALLOWED_GUILDS', () => {
  it('serves only the listed servers/workspaces (prefixed or bare ids); others are refused, naming the setting, and charged nothing', async () => {
    core = await makeCore({ allowedGuilds: ['discord:g1', 'T42'] });
    const inside = person('alice', 'g1');
    const outside = person('bob', 'g2');
    const slack = { platform: 'slack' as const, guildId: 'T42', userId: 'U1' };

    expect(await core.service.submit(fluxRequest(), inside, target, { dedupeKey: 'a' })).toMatchObject({ status: 'queued' });
    expect(await core.service.submit(fluxRequest(), slack, { platform: 'slack', channelId: 'C1' }, { dedupeKey: 'c' })).toMatchObject({ status: 'queued' });
    const refused = await core.service.submit(fluxRequest(), outside, target, { dedupeKey: 'b' });
    expect(refused).toMatchObject({ status: 'refused', reason: 'not_allowed' });
    expect(refusalText(refused as never, plainTime)).toContain('ALLOWED_GUILDS');
    expect(await core.admin.userView(userKey(outside), guildKey(outside))).toMatchObject({ usedToday: 0, inFlight: 0 });
    // A reroll is a submission like any other.
    expect(core.service.allows(outside)).toBe(false);
  });
});
