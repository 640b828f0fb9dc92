/**
 * Wakes tests waiting on the fake's effects (a Web API call, an ack, a response_url post, a connection) instead of
 * letting them sleep. Time-based conditions still get re-checked every `pollMs`.
 */
export class Waiter {
  private wakers: Array<() => void> = [];

  notify(): void {
    const wakers = this.wakers;
    this.wakers = [];
    for (const wake of wakers) wake();
  }

  /** Resolves with the first truthy value of `probe()`, re-evaluated on every notification. */
  async until<T>(probe: () => T | undefined | null | false, timeoutMs: number, describe: () => string, pollMs = 100): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value) return value;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`FakeSlack: timed out after ${timeoutMs} ms waiting for ${describe()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, pollMs));
        this.wakers.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
