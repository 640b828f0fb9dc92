import { describe, expect, it } from 'vitest';
import { AckGate } from '../../src/bots/shared/ack-gate.js';

describe('AckGate', () => {
  it('holds slow work until every outstanding ack has gone out', async () => {
    const gate = new AckGate(10_000);
    const order: string[] = [];
    gate.enter();
    gate.enter();
    const work = gate.idle().then(() => order.push('work'));
    gate.leave();
    await Promise.resolve();
    order.push('first ack');
    gate.leave();
    await work;
    expect(order).toEqual(['first ack', 'work']);
    await gate.idle(); // nothing outstanding: resolves at once
  });

  it('never holds work longer than its maximum wait (a stuck ack)', async () => {
    const gate = new AckGate(20);
    gate.enter();
    let released = false;
    await gate.idle().then(() => (released = true));
    expect(released).toBe(true);
    gate.leave();
    gate.leave(); // an extra leave does not go negative
    await gate.idle();
  });
});
