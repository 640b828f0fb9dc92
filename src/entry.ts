import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Loads `.env` from the working directory into the environment, when there is one. Variables already set win (an
 * operator's `REDIS_URL=… npm start` overrides the file), as with `node --env-file`. Returns the file loaded, if any.
 */
export function loadDotEnv(dir = process.cwd()): string | undefined {
  const file = join(dir, '.env');
  if (!existsSync(file)) return undefined;
  process.loadEnvFile(file);
  return file;
}

/**
 * Whether the module at `moduleUrl` is the program node was started with. Compares real paths: `file://${argv[1]}`
 * misses paths with spaces (percent-encoded in the URL) and symlinked checkouts (node runs the target), and the
 * program then silently did nothing.
 */
export function isMainModule(moduleUrl: string, argv1 = process.argv[1]): boolean {
  if (!argv1) return false;
  try {
    return realpathSync(fileURLToPath(moduleUrl)) === realpathSync(argv1);
  } catch {
    return false;
  }
}
