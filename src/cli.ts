import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { CliExit, type CliIo } from './cli/common.js';
import { generateCommand } from './cli/generate.js';
import { jobsCommand } from './cli/jobs.js';
import { modelsCommand } from './cli/models.js';
import { quotaCommand } from './cli/quota.js';
import { ConfigError } from './config.js';
import { isFluxError } from './core/errors.js';
import { isMainModule } from './entry.js';

/** package.json's version: one level up from both src/ and dist/. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Operator CLI (`npx fluxbot`). Settings come from the environment and `.env`, read only when a command runs, so
 * `--help` and `--version` work anywhere. Errors print one plain line (the typed error's user message, never a key)
 * and exit 1; `--help` lists every option with its range and default.
 */
export async function runCli(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const version = packageVersion();
  const program = new Command('fluxbot')
    .description('Operator CLI of fluxbot: try generations, manage quotas and jobs, list models and prices')
    .version(version, '--version', 'print the version')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.note(s.replace(/\n$/, '')) })
    .addCommand(generateCommand(version, io))
    .addCommand(quotaCommand(version, io))
    .addCommand(jobsCommand(version, io))
    .addCommand(modelsCommand(version, io));
  // Subcommands inherit the output and exit handling; errors come back here as exceptions.
  for (const command of allCommands(program)) {
    command.exitOverride().configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.note(s.replace(/\n$/, '')) });
  }
  process.exitCode = 0;
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof CliExit) {
      if (err.message) io.note(`fluxbot: ${err.message}`);
      return err.code;
    }
    if (err instanceof ConfigError) io.note(err.message);
    else if (isFluxError(err)) io.note(`error (${err.code}): ${err.userMessage}`);
    else io.note(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap((c) => allCommands(c))];
}

let pipeWatched = false;

function defaultIo(): CliIo {
  // `fluxbot models | head`: a reader that closes early ends the output quietly, not with an unhandled EPIPE.
  if (!pipeWatched) {
    pipeWatched = true;
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    });
  }
  return { out: (line) => void process.stdout.write(`${line}\n`), note: (line) => void process.stderr.write(`${line}\n`) };
}

if (isMainModule(import.meta.url)) process.exitCode = await runCli(process.argv.slice(2));
