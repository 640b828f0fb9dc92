/**
 * Lets acknowledgements go first. Platforms give 3 s to acknowledge a command; what a handler does after its ack
 * (Redis, REST calls, the private answer) competes for the same CPU and connections as the acks of commands that
 * arrived in the same burst. Handlers `enter()` before acking and `leave()` once acked; slow work waits on `idle()`
 * until no ack is outstanding, or `maxWaitMs` at most (so a stuck ack never holds the rest back).
 */
export class AckGate {
  private outstanding = 0;
  private waiters: Array<() => void> = [];

  constructor(private readonly maxWaitMs = 250) {}

  enter(): void {
    this.outstanding++;
  }

  leave(): void {
    this.outstanding = Math.max(0, this.outstanding - 1);
    if (this.outstanding === 0) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    }
  }

  idle(): Promise<void> {
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, this.maxWaitMs);
      this.waiters.push(done);
    });
  }
}
