import { InvalidArgumentError, type Command } from 'commander';
import { pino } from 'pino';
import { loadConfig, type Config } from '../config.js';
import { FluxbotCore } from '../core/core.js';
import { coreOptions } from '../core-options.js';
import { loadDotEnv } from '../entry.js';
import { ensureRedis } from '../redis-check.js';

/** A failure already explained to the person (the message is the whole story): exit with `code`, no "error:" prefix. */
export class CliExit extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
    this.name = 'CliExit';
  }
}

/** Where a command writes: stdout lines, and notes that must not mix into them (stderr). */
export interface CliIo {
  out: (line: string) => void;
  note: (line: string) => void;
}

/** Prints `value` as one JSON line with `--json`, else the human-readable lines. */
export function emit(io: CliIo, json: boolean | undefined, value: unknown, human: () => string | string[]): void {
  if (json) io.out(JSON.stringify(value));
  else for (const line of [human()].flat()) io.out(line);
}

/**
 * The settings, read when a command runs rather than when the CLI starts, so `--help` works without valid settings.
 * `.env` in the working directory is read first (variables already set win).
 */
export function settings(): Config {
  loadDotEnv();
  return loadConfig();
}

/**
 * Runs `work` with a core on Redis. Redis is probed first: when nothing answers, a private redis-server is started
 * for the command in playground mode (as `npm start` does), else the one-line message names REDIS_URL and the
 * command exits 1 within seconds instead of reconnecting forever.
 */
export async function withCore<T>(config: Config, io: CliIo, work: (core: FluxbotCore) => Promise<T>): Promise<T> {
  const redis = await ensureRedis(config);
  if (redis.kind === 'missing') throw new CliExit(redis.message);
  if (redis.kind === 'private') io.note(`fluxbot: no Redis answered at ${config.REDIS_URL}: started a private redis-server for this command (data in ${redis.redis.dir})`);
  const core = new FluxbotCore(coreOptions(config, pino({ level: 'silent' })));
  try {
    await core.ready(5000);
    return await work(core);
  } finally {
    await core.close(0);
    if (redis.kind === 'private') await redis.redis.stop();
  }
}

/**
 * A commander argument parser for a whole number in [min, max]; negative numbers are values, not options, so
 * `--daily -1` works. The message names the option, because commander prints it after its own.
 */
export function wholeNumber(option: string, min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`${option} must be a whole number (${min} to ${max})`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${option} must be between ${min} and ${max}`);
    return n;
  };
}

const PLATFORM_ID = '[A-Za-z0-9_.-]{1,64}';
const USER_KEY = new RegExp(`^(discord|slack|web):${PLATFORM_ID}:${PLATFORM_ID}$`);
const GUILD_KEY = new RegExp(`^(discord|slack|web):${PLATFORM_ID}$`);

/** Checks a person's key: `discord:<server>:<user>`, `slack:<team>:<user>` or `web:<space>:<session>`. */
export function userSubject(value: string): string {
  if (!USER_KEY.test(value)) throw new InvalidArgumentError('must be discord:<server id>:<user id>, slack:<team id>:<user id> or web:<space>:<session>');
  return value;
}

/** Checks a server's key: `discord:<server>`, `slack:<team>` or `web:<space>`. */
export function guildSubject(value: string): string {
  if (!GUILD_KEY.test(value)) throw new InvalidArgumentError('must be discord:<server id>, slack:<team id> or web:<space>');
  return value;
}

/**
 * `--version` on every (sub)command and `--json` on the ones that print results, so both work wherever they are
 * typed; a usage error ends with a pointer to `--help`.
 */
export function common(command: Command, version: string, prints = true): Command {
  if (prints) command.option('--json', 'print JSON (one object per line) for scripts instead of text');
  return command.version(version, '--version', 'print the version').showHelpAfterError('(add --help for usage)');
}
