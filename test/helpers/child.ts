import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** Starts a TypeScript program in a real child process (through tsx) and waits for it to print `ready`. */
export async function startChild(script: string, env: Record<string, string>, readyTimeoutMs = 20_000): Promise<ChildProcess & { output: string[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }) as ChildProcess & { output: string[] };
  child.output = [];
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child not ready: ${child.output.join('')}`)), readyTimeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      child.output.push(d.toString());
      if (child.output.join('').includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on('data', (d: Buffer) => child.output.push(d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}) before ready: ${child.output.join('')}`));
    });
  });
  await ready;
  return child;
}

export async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = once(child, 'exit');
  child.kill(signal);
  const [code] = (await exited) as [number | null];
  return code;
}
