import { afterEach, describe, expect, it, vi } from 'vitest';
import { AckGate } from '../../src/bots/shared/ack-gate.js';

afterEach(() => {
  vi.useRealTimers();
});

const fakeClock = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });

describe('AckGate', () => {
  it('holds slow work until every outstanding ack has gone out', async () => {
    fakeClock();
    const gate = new AckGate(10_000, 20);
    const order: string[] = [];
    gate.enter();
    gate.enter();
    const work = gate.idle().then(() => order.push('work'));
    gate.leave();
    await vi.advanceTimersByTimeAsync(500);
    order.push('first ack');
    gate.leave();
    await vi.advanceTimersByTimeAsync(0);
    await work;
    expect(order).toEqual(['first ack', 'work']);
  });

  it('holds slow work while commands keep arriving, even between two acks with none outstanding', async () => {
    fakeClock();
    const gate = new AckGate(10_000, 40);
    const order: string[] = [];
    gate.enter();
    gate.leave();
    const work = gate.idle().then(() => order.push('work'));
    // A burst: a command every 10 ms, each acked at once, so nothing is outstanding most of the time.
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(10);
      gate.enter();
      gate.leave();
      order.push(`ack ${i}`);
    }
    await vi.advanceTimersByTimeAsync(39);
    expect(order).not.toContain('work');
    await vi.advanceTimersByTimeAsync(1);
    await work;
    expect(order).toEqual(['ack 0', 'ack 1', 'ack 2', 'ack 3', 'ack 4', 'work']);
  });

  it('lets the work of a lone command go once the settle time has passed, and at once when all is quiet', async () => {
    fakeClock();
    const gate = new AckGate(10_000, 20);
    gate.enter();
    gate.leave();
    let released = false;
    void gate.idle().then(() => (released = true));
    await vi.advanceTimersByTimeAsync(19);
    expect(released).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(released).toBe(true);
    let again = false;
    void gate.idle().then(() => (again = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(again).toBe(true);
  });

  it('never holds work longer than its maximum wait (a stuck ack, or commands that never stop)', async () => {
    fakeClock();
    const gate = new AckGate(100, 20);
    gate.enter();
    let released = false;
    void gate.idle().then(() => (released = true));
    await vi.advanceTimersByTimeAsync(99);
    expect(released).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(released).toBe(true);
    gate.leave();
    gate.leave(); // an extra leave does not go negative
    gate.enter(); // outstanding is 1 again, not 0
    let held = true;
    void gate.idle().then(() => (held = false));
    await vi.advanceTimersByTimeAsync(50);
    expect(held).toBe(true);
  });
});
