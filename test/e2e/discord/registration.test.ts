import { afterEach, describe, expect, it } from 'vitest';
import { fluxAdminCommand } from '../../../src/commands/flux-admin.js';
import { FLUX_OPTIONS } from '../../../src/commands/flux.js';
import { INPUT_ASPECT_RATIOS, MODEL_IDS, OUTPUT_FORMATS } from '../../../src/core/models.js';
import type { CommandOption } from '../../fakes/discord/index.js';
import { Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  const errors = h?.log.errors ?? [];
  await h?.close();
  h = undefined;
  expect(errors).toEqual([]);
});

const TYPES = { string: 3, integer: 4, boolean: 5, user: 6, number: 10, attachment: 11 } as const;
const MANAGE_GUILD = (1n << 5n).toString();

const byName = (options: CommandOption[] | undefined, name: string) => options?.find((o) => o.name === name);

describe('Discord command registration', () => {
  it('registers /flux, /flux-quota, /flux-history and /flux-admin in DISCORD_GUILD_ID at start, generated from the definitions', async () => {
    h = await Harness.start({ provider: 'preview' });
    const put = await h.fake.waitFor('putGuildCommands');
    expect(put.status).toBe(200);
    expect(put.params.guildId).toBe(h.fake.guild.id);
    expect(h.fake.callsTo('putGlobalCommands')).toEqual([]);
    const commands = h.fake.commands(h.fake.guild.id);
    expect(commands.map((c) => c.name)).toEqual(['flux', 'flux-quota', 'flux-history', 'flux-admin', 'Edit with FLUX']);
    // Everyone's commands: installable to a server (0) and to a person (1), used in servers (0), the DM with the bot
    // (1) and other DMs (2). /flux-admin manages a server: a server install, in that server.
    for (const name of ['flux', 'flux-quota', 'flux-history']) {
      expect(commands.find((c) => c.name === name), name).toMatchObject({ integration_types: [0, 1], contexts: [0, 1, 2] });
    }
    expect(commands[3]).toMatchObject({ name: 'flux-admin', integration_types: [0], contexts: [0] });
    // The message command (right-click a message → Apps → Edit with FLUX): type 3, no description or options.
    expect(commands[4]).toMatchObject({ type: 3, name: 'Edit with FLUX', description: '', integration_types: [0, 1], contexts: [0, 1, 2] });
    expect(commands[4]!.options).toBeUndefined();

    const flux = commands[0]!;
    expect(flux).toMatchObject({ type: 1, default_member_permissions: null });
    // Every definition option is there, typed, with its choices and ranges; required ones first.
    expect(flux.options!.map((o) => o.name)).toEqual(FLUX_OPTIONS.map((o) => o.name));
    for (const def of FLUX_OPTIONS) {
      const o = byName(flux.options, def.name)!;
      expect(o.type, def.name).toBe(TYPES[def.type]);
      expect(o.required ?? false, def.name).toBe(def.required ?? false);
      expect(o.min_value, def.name).toBe(def.min);
      expect(o.max_value, def.name).toBe(def.max);
      expect(o.max_length, def.name).toBe(def.maxLength);
      expect(o.choices?.map((c) => c.value), def.name).toEqual(def.choices ? [...def.choices] : undefined);
    }
    // Spot checks against Discord's option types and the model catalogue.
    expect(byName(flux.options, 'prompt')).toMatchObject({ type: 3, required: true, max_length: 2000 });
    expect(byName(flux.options, 'model')!.choices).toEqual(MODEL_IDS.map((m) => ({ name: m, value: m })));
    expect(byName(flux.options, 'aspect_ratio')!.choices!.map((c) => c.value)).toEqual([...INPUT_ASPECT_RATIOS]);
    expect(byName(flux.options, 'output_format')!.choices!.map((c) => c.value)).toEqual([...OUTPUT_FORMATS]);
    expect(byName(flux.options, 'count')).toMatchObject({ type: 4, required: false, min_value: 1, max_value: 4, description: 'How many images (1–4), made together' });
    expect(byName(flux.options, 'steps')).toMatchObject({ type: 4, min_value: 1, max_value: 50 });
    expect(byName(flux.options, 'guidance')).toMatchObject({ type: 10, min_value: 0, max_value: 10 });
    expect(byName(flux.options, 'interval')).toMatchObject({ type: 10, min_value: 1, max_value: 4 });
    expect(byName(flux.options, 'safety_tolerance')).toMatchObject({ type: 4, min_value: 1, max_value: 6 });
    expect(byName(flux.options, 'width')).toMatchObject({ type: 4, min_value: 256, max_value: 2048 });
    expect(byName(flux.options, 'height')).toMatchObject({ type: 4, min_value: 256, max_value: 2048 });
    expect(byName(flux.options, 'output_quality')).toMatchObject({ type: 4, min_value: 0, max_value: 100 });
    expect(byName(flux.options, 'seed')).toMatchObject({ type: 4, min_value: 0, max_value: 2_147_483_647 });
    expect(byName(flux.options, 'image_prompt')).toMatchObject({ type: 11 });
    expect(byName(flux.options, 'image_prompt_url')).toMatchObject({ type: 3, max_length: 2048 });
    expect(byName(flux.options, 'prompt_upsampling')).toMatchObject({ type: 5 });

    expect(commands[1]).toMatchObject({ name: 'flux-quota', default_member_permissions: null });
    expect(commands[1]!.options ?? []).toEqual([]);

    expect(commands[2]).toMatchObject({ name: 'flux-history', default_member_permissions: null });
    expect(commands[2]!.options ?? []).toEqual([]);

    const admin = commands[3]!;
    expect(admin.default_member_permissions).toBe(MANAGE_GUILD);
    // Subcommands (type 1), and the budget group (type 2) holding its own set and show.
    expect(admin.options!.map((o) => [o.name, o.type])).toEqual([
      ...fluxAdminCommand.subcommands!.filter((s) => !s.group).map((s) => [s.name, 1]),
      ['budget', 2],
    ]);
    const budget = byName(admin.options, 'budget') as { options?: Array<{ name: string; type: number; options?: Array<{ name: string; type: number }> }> };
    expect(budget.options!.map((o) => [o.name, o.type, (o.options ?? []).map((x) => [x.name, x.type])])).toEqual([
      ['set', 1, [['monthly', 10], ['person_daily', 10]]],
      ['show', 1, []],
    ]);
    const set = byName(admin.options, 'set')!;
    expect(set.options!.map((o) => [o.name, o.type, o.min_value, o.max_value])).toEqual([
      ['user', 6, undefined, undefined],
      ['daily', 4, -1, 1_000_000],
      ['concurrent', 4, -1, 1_000_000],
    ]);
    // Discord refuses optional options before required ones: `grant` puts the required amount first.
    expect(byName(admin.options, 'grant')!.options!.map((o) => [o.name, o.required])).toEqual([
      ['amount', true],
      ['user', false],
    ]);
    expect(byName(admin.options, 'ban')!.options!.map((o) => [o.name, o.type, o.required])).toEqual([
      ['user', 6, true],
      ['reason', 3, false],
    ]);
  });

  it('registers globally when DISCORD_GUILD_ID is not set', async () => {
    h = await Harness.start({ provider: 'preview', guildCommands: false });
    await h.fake.waitFor('putGlobalCommands');
    expect(h.fake.commands().map((c) => c.name)).toEqual(['flux', 'flux-quota', 'flux-history', 'flux-admin', 'Edit with FLUX']);
    expect(h.fake.callsTo('putGuildCommands')).toEqual([]);
  });
});
