/**
 * The flow file's `notify:` list: valid entries load (https, or http to this machine), other
 * destinations and events are refused with a message at the field's line, and production refuses
 * to start without NOTIFY_SECRET or with an http:// webhook.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { formatProblem, loadFlowSources, type Flow } from '../../src/flows/index.js';
import { ToolRegistry } from '../../src/tools/index.js';
import { checkProduction } from '../../src/app.js';
import { loadEnv } from '../../src/config/env.js';
import { notifyProductionProblems } from '../../src/notify/wire.js';

const registry = ToolRegistry.create([]);

function flowText(notify: string): string {
  return `name: shop
default: true
persona: You answer the phone for a shop.
greeting: Hello!
stages:
  - name: main
    instructions: Help the caller.
${notify}`;
}

function load(notify: string) {
  return loadFlowSources([{ file: 'flows/shop.yaml', text: flowText(notify) }], { registry, env: {} });
}

function loaded(notify: string): Flow {
  const result = load(notify);
  assert.ok(result.ok, result.ok ? '' : result.errors.map(formatProblem).join('\n'));
  return result.flows[0]!;
}

function problems(notify: string): string[] {
  const result = load(notify);
  assert.equal(result.ok, false, 'expected the flow to be refused');
  return result.ok ? [] : result.errors.map(formatProblem);
}

describe('flow notify list', () => {
  it('loads https webhooks and http ones to this machine; none by default', () => {
    assert.deepEqual(loaded('').notify, []);
    const flow = loaded(`notify:
  - webhook: https://crm.example.com/hooks/calls
    events: [call.completed, call.needs_follow_up]
  - webhook: http://127.0.0.1:9000/hook
    events: [call.completed]
`);
    assert.deepEqual(flow.notify, [
      { webhook: 'https://crm.example.com/hooks/calls', events: ['call.completed', 'call.needs_follow_up'] },
      { webhook: 'http://127.0.0.1:9000/hook', events: ['call.completed'] },
    ]);
  });

  it('refuses http:// to another machine, other schemes, credentials in the URL, unknown events, duplicates', () => {
    const errs = problems(`notify:
  - webhook: http://crm.example.com/hook
    events: [call.completed]
  - webhook: ftp://crm.example.com/hook
    events: [call.completed]
  - webhook: https://user:pw@crm.example.com/hook
    events: [call.completed]
  - webhook: https://crm.example.com/a
    events: [call.started]
  - webhook: https://crm.example.com/b
    events: []
  - webhook: https://crm.example.com/b
    events: [call.completed, call.completed]
`);
    const text = errs.join('\n');
    assert.match(text, /flows\/shop\.yaml:9.*notify\[0\]\.webhook.*must be https:\/\/ .*http:\/\/ is allowed only to this machine/);
    assert.match(text, /:11.*notify\[1\]\.webhook.*must be an https:\/\/ address/);
    assert.match(text, /:13.*notify\[2\]\.webhook.*user name or password/);
    assert.match(text, /:16 notify\[3\]\.events\[0\].*"call\.completed", "call\.needs_follow_up", not "call\.started"/);
    assert.match(text, /:18 notify\[4\]\.events.*at least 1/);
    assert.match(text, /:20 notify\[5\]\.events.*lists an event twice/);
    assert.equal(errs.length, 6);
  });

  it('refuses the same webhook listed twice', () => {
    const text = problems(`notify:
  - webhook: https://crm.example.com/b
    events: [call.completed]
  - webhook: https://crm.example.com/b
    events: [call.needs_follow_up]
`).join('\n');
    assert.match(text, /:11 notify\[1\]\.webhook.*listed twice/);
  });

  it('refuses unknown keys in an entry, suggesting the right one', () => {
    const text = problems(`notify:
  - webhok: https://crm.example.com/hooks/calls
    events: [call.completed]
`).join('\n');
    assert.match(text, /webhok/);
  });
});

describe('production refusals for notifications', () => {
  const GOOD = {
    NODE_ENV: 'production',
    TWILIO_AUTH_TOKEN: 'x'.repeat(32),
    PUBLIC_BASE_URL: 'https://bot.example.com',
    ADMIN_TOKEN: 'y'.repeat(40),
    GEMINI_API_KEY: 'k',
  };
  const withHook = (webhook: string) => loaded(`notify:\n  - webhook: ${webhook}\n    events: [call.completed]\n`);

  it('needs NOTIFY_SECRET when a flow sends notifications, and https webhooks', () => {
    const https = withHook('https://crm.example.com/hooks/calls');
    assert.throws(() => checkProduction(loadEnv(GOOD), [], [https]), /NOTIFY_SECRET \(flows shop send notifications/);
    const env = loadEnv({ ...GOOD, NOTIFY_SECRET: `whsec_${randomBytes(32).toString('base64')}` });
    assert.doesNotThrow(() => checkProduction(env, [], [https]));
    assert.throws(() => checkProduction(env, [], [withHook('http://127.0.0.1:9000/hook')]), /notify webhook http:\/\/127\.0\.0\.1:9000\/hook must be https:\/\/ in production/);
  });

  it('asks nothing of flows without notify, or outside production', () => {
    assert.doesNotThrow(() => checkProduction(loadEnv(GOOD), [], [loaded('')]));
    assert.deepEqual(notifyProductionProblems(loadEnv({}), [withHook('http://127.0.0.1:9000/hook')]), []);
  });
});
