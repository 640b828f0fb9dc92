import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { ConfigSchema } from '../../src/config.js';

/** Settings the app reads (from its own schema): stripped from the inherited environment so only the test's own reach the child. */
const APP_SETTINGS = new Set(Object.keys((ConfigSchema as unknown as { in: { shape: Record<string, unknown> } }).in.shape));

/** One log line of the child (pino JSON). */
export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

/**
 * The real program (`src/main.ts`) in a child process, configured only through its environment, as an operator runs
 * it. Its JSON log is parsed so tests can wait on what it reports (ports, "bot started", "job delivered").
 */
export class AppProcess {
  readonly logs: LogLine[] = [];
  /** Raw output, for failure messages. */
  readonly output: string[] = [];
  private waiters: Array<() => void> = [];
  private partial = '';

  private constructor(
    readonly child: ChildProcess,
    readonly name: string,
  ) {
    child.stdout!.on('data', (d: Buffer) => this.take(d.toString()));
    child.stderr!.on('data', (d: Buffer) => this.output.push(d.toString()));
    child.once('exit', () => this.wake());
  }

  /**
   * Starts `node --import tsx src/main.ts` with `env` (HTTP_PORT defaults to 0 = a free port, JSON logs) and waits
   * until `/readyz` answers 200 (unless `waitReady` is false: then only until the HTTP endpoint listens).
   */
  static async start(name: string, env: Record<string, string>, options: { waitReady?: boolean; timeoutMs?: number } = {}): Promise<AppProcess> {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !APP_SETTINGS.has(k)));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...inherited, HTTP_PORT: '0', LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const app = new AppProcess(child, name);
    const timeoutMs = options.timeoutMs ?? 30_000;
    await app.waitForLog((l) => l.msg?.startsWith('http endpoint listening') === true, timeoutMs);
    if (options.waitReady !== false) await app.waitUntil(async () => (await app.readyz()).status === 200, timeoutMs, 'ready');
    return app;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  get httpPort(): number {
    return Number(this.logs.find((l) => l.msg?.startsWith('http endpoint listening') === true)?.port);
  }

  /** The Slack HTTP receiver's port (ROLE=bot or all with Slack in HTTP mode). */
  get slackPort(): number {
    return Number(this.logs.find((l) => l.msg === 'Slack app started')?.port);
  }

  /** GET /readyz: the status and the per-check results (status 0 when the endpoint does not answer). */
  async readyz(): Promise<{ status: number; checks: Record<string, boolean> }> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.httpPort}/readyz`, { signal: AbortSignal.timeout(5000) });
      const body = (await res.json()) as { checks?: Record<string, boolean> };
      return { status: res.status, checks: body.checks ?? {} };
    } catch {
      return { status: 0, checks: {} };
    }
  }

  /** Resolves with the first log line matching `match` (already logged or future); rejects if the process exits first. */
  async waitForLog(match: (line: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    let found: LogLine | undefined;
    await this.waitUntil(() => (found = this.logs.find(match)) !== undefined, timeoutMs, 'log line');
    return found!;
  }

  /** Log lines with this message. */
  lines(msg: string): LogLine[] {
    return this.logs.filter((l) => l.msg === msg);
  }

  /** Sends `signal` and resolves with the exit code once the process is gone (null when killed by the signal). */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.exited) return this.child.exitCode;
    const exited = once(this.child, 'exit');
    this.child.kill(signal);
    const [code] = (await exited) as [number | null];
    return code;
  }

  /** The child's output for a failure message (last lines). */
  tail(n = 40): string {
    return `${this.name}:\n${this.output.join('').split('\n').slice(-n).join('\n')}`;
  }

  private async waitUntil(probe: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await probe()) return;
      if (this.exited) throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before ${what}\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: no ${what} within ${timeoutMs} ms\n${this.tail()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private take(text: string): void {
    this.output.push(text);
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        // not a log line
      }
    }
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** Stops every process still running (SIGKILL: after a test, only cleanup matters). */
export async function killAll(apps: AppProcess[]): Promise<void> {
  await Promise.all(apps.splice(0).map((a) => a.kill('SIGKILL')));
}
