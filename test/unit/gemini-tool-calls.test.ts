import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PendingToolCalls, capResponse } from '../../src/gemini/tool-calls.js';


describe('capResponse', () => {
  it('leaves responses under the cap alone', () => {
    const response = { output: 'short' };
    assert.equal(capResponse(response, JSON.stringify(response), 1024), undefined);
  });

  it('keeps the error key for an oversized error, and fits the cap', () => {
    const response = { error: 'e'.repeat(5000) };
    const capped = capResponse(response, JSON.stringify(response), 2000)!;
    assert.ok(capped.sentBytes <= 2000);
    assert.equal(typeof capped.response['error'], 'string');
    assert.equal(capped.response['output'], undefined);
    assert.match(String(capped.response['note']), /truncated from 5012 to \d+ bytes/);
  });

  it('never splits a surrogate pair', () => {
    const response = { output: '😀'.repeat(2000) };
    const capped = capResponse(response, JSON.stringify(response), 1500)!;
    const kept = String(capped.response['output']);
    assert.ok(!/[\uD800-\uDBFF]$/.test(kept));
    assert.ok(capped.sentBytes <= 1500);
  });
});

describe('PendingToolCalls', () => {
  it('uses the declared behaviour; an undeclared function counts as blocking', () => {
    const blocking = new Map([['notify', false]]);
    const calls = new PendingToolCalls((name) => blocking.get(name) ?? true);
    calls.add([{ id: 'a', name: 'notify', args: {} }]);
    assert.equal(calls.blockingPending, false);
    calls.add([{ id: 'b', name: 'unknown_fn', args: {} }]);
    assert.equal(calls.blockingPending, true);
    assert.deepEqual(calls.cancel(['b', 'zzz']), ['b']);
    assert.equal(calls.blockingPending, false);
  });

  it('keeps a willContinue call pending until its final response', () => {
    const calls = new PendingToolCalls(() => false);
    calls.add([{ id: 'g', name: 'stream', args: {} }]);
    calls.commit(calls.prepare([{ id: 'g', response: { output: 1 }, willContinue: true, scheduling: 'SILENT' }], 1024));
    assert.equal(calls.list().length, 1);
    const last = calls.prepare([{ id: 'g', response: { output: 2 }, willContinue: false }], 1024);
    assert.deepEqual(JSON.parse(last.json), { toolResponse: { functionResponses: [{ id: 'g', name: 'stream', response: { output: 2 }, scheduling: 'WHEN_IDLE', willContinue: false }] } });
    calls.commit(last);
    assert.equal(calls.list().length, 0);
  });

  it('a NON_BLOCKING response carries scheduling (WHEN_IDLE unless chosen); a BLOCKING one never does', () => {
    const calls = new PendingToolCalls((name) => name !== 'log_callback');
    calls.add([{ id: 'n1', name: 'log_callback', args: {} }, { id: 'n2', name: 'log_callback', args: {} }, { id: 'b', name: 'lookup', args: {} }]);
    const sent = JSON.parse(calls.prepare([
      { id: 'n1', response: { output: 1 } },
      { id: 'n2', response: { output: 2 }, scheduling: 'SILENT' },
      { id: 'b', response: { output: 3 }, scheduling: 'INTERRUPT' },
    ], 1024).json) as { toolResponse: { functionResponses: Array<{ id: string; scheduling?: string }> } };
    assert.deepEqual(sent.toolResponse.functionResponses.map((r) => [r.id, r.scheduling]), [['n1', 'WHEN_IDLE'], ['n2', 'SILENT'], ['b', undefined]]);
  });

  it('sends no scheduling on a family without response scheduling (3.1: synchronous functions only)', () => {
    const calls = new PendingToolCalls(() => false, []);
    calls.add([{ id: 'x', name: 'f', args: {} }]);
    const sent = JSON.parse(calls.prepare([{ id: 'x', response: { output: 1 }, scheduling: 'SILENT' }], 1024).json) as { toolResponse: { functionResponses: Array<Record<string, unknown>> } };
    assert.equal('scheduling' in sent.toolResponse.functionResponses[0]!, false);
  });

  it('refuses unserialisable responses and bad scheduling, listing every problem', () => {
    const calls = new PendingToolCalls(() => true);
    calls.add([{ id: 'x', name: 'f', args: {} }, { id: 'y', name: 'f', args: {} }]);
    const cyclic: Record<string, unknown> = { output: 1 };
    cyclic['self'] = cyclic;
    assert.throws(
      () => calls.prepare([{ id: 'x', response: cyclic }, { id: 'y', response: { output: 1 }, scheduling: 'LATER' as never }], 1024),
      (err: Error & { code?: string; detail?: { problems?: string[] } }) =>
        err.code === 'CB_GEMINI_TOOL_RESPONSE_INVALID' && err.detail?.problems?.length === 2 && /serialised/.test(err.message) && /scheduling/.test(err.message),
    );
    assert.equal(calls.list().length, 2, 'nothing changed');
  });
});
