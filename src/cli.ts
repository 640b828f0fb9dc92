import { ConfigError, loadConfig } from './config.js';
import { generateCommand, GENERATE_USAGE } from './cli/generate.js';
import { isFluxError } from './core/errors.js';
import { jobsCommand, JOBS_USAGE } from './cli/jobs.js';
import { quotaCommand, QUOTA_USAGE } from './cli/quota.js';

const USAGE = `Usage: fluxbot <command> [options]

Commands:
  generate   run one generation and write the image to a file (fluxbot generate --help)
  quota      show and change quotas, grants and bans (fluxbot quota --help)
  jobs       list, cancel and retry jobs (fluxbot jobs --help)
`;

/** Operator CLI. Errors print the typed error's user message (never a key) and exit non-zero. */
export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const print = (line: string) => process.stdout.write(`${line}\n`);
  if (!command || command === '--help' || command === 'help') {
    print(USAGE);
    return command ? 0 : 2;
  }
  try {
    const config = loadConfig();
    switch (command) {
      case 'generate':
        if (rest.includes('--help')) {
          print(GENERATE_USAGE);
          return 0;
        }
        return await generateCommand(rest, config, print);
      case 'quota':
        if (rest.length === 0 || rest.includes('--help')) {
          print(QUOTA_USAGE);
          return rest.length === 0 ? 2 : 0;
        }
        return await quotaCommand(rest, config, print);
      case 'jobs':
        if (rest.length === 0 || rest.includes('--help')) {
          print(JOBS_USAGE);
          return rest.length === 0 ? 2 : 0;
        }
        return await jobsCommand(rest, config, print);
      default:
        process.stderr.write(`Unknown command ${command}\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
    else if (isFluxError(err)) process.stderr.write(`error (${err.code}): ${err.userMessage}\n`);
    else process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

process.exitCode = await runCli(process.argv.slice(2));
