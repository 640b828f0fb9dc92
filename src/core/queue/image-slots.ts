/**
 * A counting semaphore bounding how many images one worker process holds in memory at once (downloaded, stashed,
 * being uploaded). Generations waiting on a provider cost almost nothing; hundreds of images arriving in the same
 * second would otherwise all be buffered together (bench/worker-memory.ts).
 */
export class ImageSlots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly size: number) {
    this.free = size;
  }

  /** Resolves with a release function once a slot is free. Release exactly once. */
  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}
