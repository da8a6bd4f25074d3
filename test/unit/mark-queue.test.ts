import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MarkQueue } from '../../src/call/mark-queue.js';

function contents(q: MarkQueue): Array<[string, string, number]> {
  return Array.from({ length: q.size }, (_, k) => [q.nameAt(k), q.utteranceAt(k), q.sentMsAt(k)]);
}

describe('MarkQueue (the playout tracker’s pending marks)', () => {
  it('keeps send order across wrap-around and growth, and finds a mark by name', () => {
    const q = new MarkQueue(4);
    q.push('m1', 'u1', 100);
    q.push('m2', 'u1', 200);
    q.push('m3', 'u1', 300);
    q.shift();
    q.shift(); // head is now at slot 2: the next pushes wrap around
    q.push('m4', 'u2', 20);
    q.push('m5', 'u2', 40);
    q.push('m6', 'u2', 60);
    q.push('m7', 'u3', 10); // full at 4: grows to 8, unwrapping
    q.push('m8', 'u3', 30);
    assert.deepEqual(contents(q), [['m3', 'u1', 300], ['m4', 'u2', 20], ['m5', 'u2', 40], ['m6', 'u2', 60], ['m7', 'u3', 10], ['m8', 'u3', 30]]);
    assert.equal(q.indexOf('m3'), 0);
    assert.equal(q.indexOf('m7'), 4);
    assert.equal(q.indexOf('m1'), -1, 'an echoed mark is gone');
    assert.equal(q.indexOf('nope'), -1);
  });

  it('clears, and a shift of an empty queue does nothing', () => {
    const q = new MarkQueue(2);
    q.shift();
    q.push('a', 'u', 1);
    q.push('b', 'u', 2);
    q.push('c', 'u', 3);
    q.clear();
    assert.equal(q.size, 0);
    assert.equal(q.indexOf('a'), -1);
    q.push('d', 'v', 4);
    assert.deepEqual(contents(q), [['d', 'v', 4]]);
  });
});
