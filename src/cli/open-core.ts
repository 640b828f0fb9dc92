import { pino } from 'pino';
import type { Config } from '../config.js';
import { FluxbotCore } from '../core/core.js';
import { coreOptions } from '../core-options.js';

/** A core for one CLI command: quiet logging, fail-fast Redis, closed by the caller. */
export async function openCore(config: Config): Promise<FluxbotCore> {
  const core = new FluxbotCore(coreOptions(config, pino({ level: 'silent' })));
  await core.ready(5000);
  return core;
}
