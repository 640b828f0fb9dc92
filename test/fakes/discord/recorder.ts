/**
 * An append-only record that tests can wait on: `waitFor` resolves with the first entry matching a predicate,
 * whether it was recorded before the call or arrives later, so tests wait on effects instead of sleeping.
 */
export class Recorder<T> {
  readonly entries: T[] = [];
  private waiters = new Set<() => void>();

  constructor(private readonly describe: (entry: T) => string) {}

  push(entry: T): void {
    this.entries.push(entry);
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  async waitFor(predicate: (entry: T) => boolean, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.entries.find(predicate);
      if (found !== undefined) return found;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        const seen = this.entries.map(this.describe).join(', ') || '(none)';
        throw new Error(`${what}: timed out after ${timeoutMs} ms; recorded: ${seen}`);
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, remaining);
        this.waiters.add(wake);
      });
    }
  }
}
