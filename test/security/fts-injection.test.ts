/**
 * Attack: put SQLite FTS5 syntax in the call search (`/api/calls?q=`): operators (OR, NOT, AND,
 * NEAR), column filters, prefix stars, carets, parentheses, unbalanced quotes, SQL. Raw FTS5
 * would answer 500 (a syntax error) or widen the search (OR, column filters). The audit found the
 * search holding; this is its regression test: every such query answers 200 and matches plain
 * words only (every word, as a prefix, somewhere in the call), the same as the words typed
 * without the syntax. A query over 200 characters or given twice answers 400. Never a 500.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveSeeded, type SeededServer } from './seeded-calls.js';
import { stackLines } from './support.js';

const TOKEN = 'fts-injection-admin-token-0123456789abcdef';
const A = 'CA' + 'a'.repeat(32);
const B = 'CA' + 'b'.repeat(32);
const C = 'CA' + 'c'.repeat(32);

describe('security: FTS5 syntax in the call search', () => {
  let s: SeededServer;
  before(async () => {
    s = await serveSeeded(
      [
        { callSid: A, said: ['Is the terrace heated?', 'I do not like the cold.'] },
        { callSid: B, said: ['A table near the window, and a high chair.'] },
        { callSid: C, said: ['Hello there, wrong number.'] },
      ],
      { adminToken: TOKEN },
    );
  });
  after(() => s.close());

  async function search(q: string): Promise<{ status: number; sids: string[] }> {
    const res = await fetch(`${s.base}/api/calls?${new URLSearchParams({ q })}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = (await res.json()) as { calls?: { callSid: string }[] };
    return { status: res.status, sids: (body.calls ?? []).map((c) => c.callSid).sort() };
  }

  // [query, the calls plain-word matching finds]: what raw FTS5 would do is in the comment.
  const cases: [string, string[]][] = [
    ['terrace', [A]], // the control
    ['"terrace', [A]], // unbalanced quote: FTS5 syntax error
    ['terrace"', [A]],
    ['"terrace heated"', [A]],
    ['terrace*', [A]],
    ['text:terrace', []], // column filter: FTS5 would find A; "text" is no word of A
    ['{text}:window', []],
    ['call_text:hello', []],
    ['NEAR(table window)', [B]], // "near" is a word B says
    ['NEAR(table window, 2)', []],
    ['NEAR(', [B]],
    ['terrace NOT heated', [A]], // FTS5: nothing; A says "not"
    ['window AND table', [B]], // B says "and"
    ['terrace OR window', []], // FTS5: A and B; nobody says "or…"
    ['^hello', [C]],
    ['hello) OR (1=1', []],
    ["'; DROP TABLE call_events; --", []],
    ['hel*lo', []],
    ['te\u0000rrace', []],
    ['-terrace', [A]],
    ['+window', [B]],
  ];
  for (const [q, expected] of cases) {
    it(`q=${JSON.stringify(q)}: 200, plain words`, async () => {
      assert.deepEqual(await search(q), { status: 200, sids: expected });
    });
  }

  it('syntax without any word filters nothing (200, every call)', async () => {
    for (const q of ['"', '""', '*', '(', ')', '-', ':', '^', '{}', '"*"', '* * *']) {
      const { status, sids } = await search(q);
      assert.equal(status, 200, q);
      assert.deepEqual(sids, [A, B, C], q);
    }
  });

  it('a query over 200 characters, or two of them, answers 400 (JSON, no stack)', async () => {
    assert.equal((await search('"OR '.repeat(60))).status, 400);
    const twice = await fetch(`${s.base}/api/calls?q=terrace&q=window`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(twice.status, 400);
    assert.equal(((await twice.json()) as { error: string }).error, 'bad_request');
  });

  it('the SQL in the queries did nothing: every call is still there', async () => {
    assert.deepEqual(await search(''), { status: 200, sids: [A, B, C] });
  });

  it('logs no 500 and no stack', () => assert.deepEqual(stackLines(s.lines), []));
});
