interface Waiter<T> {
  predicate: (entry: T) => boolean;
  resolve: (entry: T) => void;
  reject: (err: unknown) => void;
}

/**
 * An append-only record that tests can wait on: `waitFor` resolves with the first entry matching a predicate,
 * whether it was recorded before the call or arrives later, so tests wait on effects instead of sleeping.
 * Past entries are scanned once; after that each waiter sees only new entries, so hundreds of waiters (a burst
 * benchmark) cost one predicate call per waiter per entry, not a rescan of the whole record.
 */
export class Recorder<T> {
  readonly entries: T[] = [];
  private readonly waiters = new Set<Waiter<T>>();

  constructor(private readonly describe: (entry: T) => string) {}

  push(entry: T): void {
    this.entries.push(entry);
    for (const waiter of [...this.waiters]) {
      let matched: boolean;
      try {
        matched = waiter.predicate(entry);
      } catch (err) {
        // A throwing predicate fails its own waitFor, never the fake's request handling.
        this.waiters.delete(waiter);
        waiter.reject(err);
        continue;
      }
      if (!matched) continue;
      this.waiters.delete(waiter);
      waiter.resolve(entry);
    }
  }

  async waitFor(predicate: (entry: T) => boolean, timeoutMs: number, what: string): Promise<T> {
    const found = this.entries.find(predicate);
    if (found !== undefined) return found;
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        predicate,
        resolve: (entry) => {
          clearTimeout(timer);
          resolve(entry);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const seen = this.entries.map(this.describe).join(', ') || '(none)';
        reject(new Error(`${what}: timed out after ${timeoutMs} ms; recorded: ${seen}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }
}
