import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PcmRing } from '../../src/audio/pcm-ring.js';

function drainAll(hold: PcmRing, chunk = 3): number[] {
  const out: number[] = [];
  hold.drain(chunk, (c) => out.push(...c));
  return out;
}

describe('PcmRing', () => {
  it('keeps the newest samples in order across wrap-around and counts what it dropped', () => {
    const hold = new PcmRing(5);
    hold.push(new Int16Array([1, 2, 3]));
    hold.push(new Int16Array([4, 5, 6, 7]));
    assert.equal(hold.lengthSamples, 5);
    assert.equal(hold.droppedSamples, 2);
    assert.deepEqual(drainAll(hold), [3, 4, 5, 6, 7]);
    assert.equal(hold.lengthSamples, 0);
    hold.push(new Int16Array([8, 9]));
    assert.deepEqual(drainAll(hold, 1), [8, 9]);
  });

  it('takes the tail of a push larger than its capacity', () => {
    const hold = new PcmRing(4);
    hold.push(new Int16Array([1]));
    hold.push(new Int16Array([2, 3, 4, 5, 6, 7]));
    assert.deepEqual(drainAll(hold), [4, 5, 6, 7]);
    assert.equal(hold.droppedSamples, 3);
  });

  it('copies: later changes to the pushed buffer do not leak in', () => {
    const hold = new PcmRing(8);
    const buf = new Int16Array([1, 2]);
    hold.push(buf);
    buf.fill(9);
    assert.deepEqual(drainAll(hold), [1, 2]);
  });

  it('tail() copies the newest samples, oldest first, across wrap-around', () => {
    const ring = new PcmRing(5);
    ring.push(new Int16Array([1, 2, 3, 4]));
    ring.push(new Int16Array([5, 6, 7]));
    assert.deepEqual([...ring.tail(3)], [5, 6, 7]);
    assert.deepEqual([...ring.tail(5)], [3, 4, 5, 6, 7]);
    assert.deepEqual([...ring.tail(50)], [3, 4, 5, 6, 7], 'never more than it holds');
    assert.deepEqual([...ring.tail(0)], []);
    assert.equal(ring.lengthSamples, 5, 'tail does not consume');
    assert.deepEqual([...new PcmRing(4).tail(2)], [], 'empty ring');
  });
});
