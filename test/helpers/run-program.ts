import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

/** The repository this test runs in (bin/ and src/ are found from here whatever the child's working directory). */
export const REPO = resolve(import.meta.dirname, '../..');

/**
 * An environment with nothing of the test runner's settings: only PATH and HOME (tsx's cache) plus `env`, as a new
 * user's shell would have, so a setting reaches the child only when the test (or a `.env`) gives it.
 */
export function cleanEnv(env: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env };
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a program to its end (killed after `timeoutMs`) and returns its exit code, output and run time. */
export function runToEnd(command: string, args: string[], options: { cwd?: string; env: Record<string, string>; timeoutMs?: number }): Promise<Finished> {
  const started = Date.now();
  const child = spawn(command, args, { cwd: options.cwd ?? REPO, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  return collect(child, started, options.timeoutMs ?? 60_000);
}

function collect(child: ChildProcess, started: number, timeoutMs: number): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((done) =>
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr, ms: Date.now() - started });
    }),
  );
}

/** `npx fluxbot …` as an operator types it: `bin/fluxbot.js` in a child process, from `cwd`. */
export function fluxbotCli(args: string[], env: Record<string, string>, cwd = REPO): Promise<Finished> {
  return runToEnd(process.execPath, [resolve(REPO, 'bin/fluxbot.js'), ...args], { cwd, env: cleanEnv(env), timeoutMs: 60_000 });
}

/** Polls `url` until it answers 200 or `timeoutMs` passes; the time it took, or undefined. */
export async function waitFor200(url: string, timeoutMs: number, gaveUp: () => boolean = () => false): Promise<number | undefined> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs && !gaveUp()) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(2000) })
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}
