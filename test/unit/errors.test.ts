import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERRORS, CallbridgeError, isErrorCode } from '../../src/shared/errors.js';
import { renderErrorsDoc } from '../../src/shared/errors-doc.js';

describe('error catalogue', () => {
  it('every code is CB_ prefixed, upper snake case, and fully described', () => {
    for (const [code, info] of Object.entries(ERRORS)) {
      assert.match(code, /^CB_[A-Z0-9_]+$/);
      assert.ok(info.explanation.length > 10 && info.explanation.endsWith('.'), `${code} explanation`);
      assert.ok(info.fix.length > 3, `${code} fix`);
      assert.equal(typeof info.retryable, 'boolean');
    }
  });

  it('docs/ERRORS.md is generated from the catalogue and up to date (npm run docs:errors)', () => {
    const onDisk = readFileSync(new URL('../../docs/ERRORS.md', import.meta.url), 'utf8');
    assert.equal(onDisk, renderErrorsDoc());
  });

  it('CallbridgeError carries the code, retryable flag, explanation and fix', () => {
    const err = new CallbridgeError('CB_GEMINI_INTERNAL', 'closed 1011', { detail: { code: 1011 } });
    assert.equal(err.code, 'CB_GEMINI_INTERNAL');
    assert.equal(err.retryable, true);
    assert.equal(err.explanation, ERRORS.CB_GEMINI_INTERNAL.explanation);
    assert.ok(isErrorCode('CB_TOOL_TIMEOUT'));
    assert.ok(!isErrorCode('CB_NOPE'));
  });
});
