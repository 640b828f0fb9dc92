import { spawn, type ChildProcess } from 'node:child_process';

/** Starts the Replicate fake in a child process; resolves with its base URL, token and a stop function. */
export async function startReplicateFakeProcess(latencyMs = 0): Promise<{ baseUrl: string; token: string; child: ChildProcess; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/replicate-fake-process.ts', String(latencyMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(String(d)));
    child.once('exit', (code) => reject(new Error(`fake process exited ${code}`)));
  });
  const { baseUrl, token } = JSON.parse(line) as { baseUrl: string; token: string };
  return { baseUrl, token, child, stop: () => child.kill() };
}
