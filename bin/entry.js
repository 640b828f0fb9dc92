// Loads one of the program's entry points (main, cli): the compiled one in dist/ when it is there and no older than
// the sources, else the TypeScript source through tsx (a devDependency, so a plain `npm install` then `npm start`
// works on a fresh clone without a build step). The Docker image has dist/ and no src/: it always runs dist.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Newest modification time of any file under dir (0 when there is none). */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

async function tsxAvailable() {
  try {
    return await import('tsx/esm/api');
  } catch {
    return undefined;
  }
}

/** Imports `dist/<name>.js` or `src/<name>.ts` (see above) and returns the module. */
export async function importEntry(name) {
  const built = join(root, 'dist', `${name}.js`);
  const source = join(root, 'src', `${name}.ts`);
  const hasSource = existsSync(source);
  if (existsSync(built) && (!hasSource || statSync(built).mtimeMs >= newest(join(root, 'src')))) {
    return import(pathToFileURL(built).href);
  }
  const tsx = hasSource ? await tsxAvailable() : undefined;
  if (tsx) {
    tsx.register();
    return import(pathToFileURL(source).href);
  }
  if (existsSync(built)) {
    process.stderr.write(`fluxbot: dist/ is older than src/ and tsx is not installed: running dist/ (npm run build updates it)\n`);
    return import(pathToFileURL(built).href);
  }
  process.stderr.write('fluxbot: neither dist/ nor tsx is here: run `npm install` (or `npm run build`) first\n');
  process.exit(1);
}
