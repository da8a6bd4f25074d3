import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { FlowRouter, isOpen, loadFlowSources, nextOpening, normalizeNumber, outsideHoursActions, parseDayHours, wallClock, type Flow } from '../../src/flows/index.js';
import { ToolRegistry, defineTool } from '../../src/tools/index.js';

const registry = ToolRegistry.create(
  ['check_availability', 'book_appointment', 'move_appointment', 'cancel_appointment'].map((name) =>
    defineTool({ name, description: name, schema: z.object({}), handler: () => 1 }),
  ),
);

function dental(): Flow {
  const file = 'flows/dental-receptionist.yaml';
  const r = loadFlowSources([{ file, text: readFileSync(file, 'utf8') }], { registry, env: {} });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  return r.flows[0]!;
}

describe('business hours (America/New_York, Mon-Wed 08-17, Thu 08-19, Fri 08-15)', () => {
  const flow = dental();

  it('reads local time across daylight saving time', () => {
    // 2025-03-07 is a Friday in EST (UTC-5); 2025-03-10 a Monday in EDT (UTC-4).
    assert.deepStrictEqual(wallClock(new Date('2025-03-07T13:30:00Z'), 'America/New_York'), { date: '2025-03-07', weekday: 'friday', minutes: 8 * 60 + 30 });
    assert.deepStrictEqual(wallClock(new Date('2025-03-10T12:30:00Z'), 'America/New_York'), { date: '2025-03-10', weekday: 'monday', minutes: 8 * 60 + 30 });
    assert.deepStrictEqual(wallClock(new Date('2025-03-10T03:59:00Z'), 'America/New_York'), { date: '2025-03-09', weekday: 'sunday', minutes: 23 * 60 + 59 });
    assert.equal(wallClock(new Date('2025-03-10T00:00:00Z'), 'Asia/Kolkata').minutes, 5 * 60 + 30);
  });

  it('is open inside the weekly ranges and closed outside, on weekends and on closed dates', () => {
    const cases: Array<[string, boolean]> = [
      ['2025-03-07T13:30:00Z', true], // Fri 08:30 EST
      ['2025-03-07T12:59:00Z', false], // Fri 07:59 EST
      ['2025-03-07T19:59:00Z', true], // Fri 14:59
      ['2025-03-07T20:00:00Z', false], // Fri 15:00: the end is exclusive
      ['2025-03-10T12:30:00Z', true], // Mon 08:30 EDT
      ['2025-03-10T11:30:00Z', false], // Mon 07:30 EDT (would be 06:30 EST: DST matters)
      ['2025-03-13T22:30:00Z', true], // Thu 18:30
      ['2025-03-08T15:00:00Z', false], // Saturday
      ['2025-12-25T15:00:00Z', false], // Thursday, closed date
      ['2025-12-26T15:00:00Z', true], // Friday after
    ];
    for (const [iso, open] of cases) assert.equal(isOpen(flow, new Date(iso)), open, iso);
  });

  it('outside hours: the message, then hang up or transfer; null when open', () => {
    assert.equal(outsideHoursActions(flow, new Date('2025-03-10T14:00:00Z')), null);
    const closed = outsideHoursActions(flow, new Date('2025-03-08T15:00:00Z'))!;
    assert.equal(closed.length, 2);
    assert.equal(closed[0]!.type, 'say');
    assert.match((closed[0] as { text: string }).text, /^Thank you for calling Bright Smile Dental\. We are closed right now\./);
    assert.deepStrictEqual(closed[1], { type: 'end_call', reason: 'outside business hours' });
    const transferring = { ...flow, hours: { ...flow.hours!, outsideHours: { say: 'Closed.', then: { transfer: 'front-desk' } } } } as Flow;
    assert.deepStrictEqual(outsideHoursActions(transferring, new Date('2025-03-08T15:00:00Z')), [
      { type: 'say', text: 'Closed.' },
      { type: 'transfer', target: 'front-desk', number: '+15550100100' },
    ]);
  });

  it('knows when it opens next, skipping weekends and closed dates', () => {
    assert.deepStrictEqual(nextOpening(flow, new Date('2025-03-08T15:00:00Z')), { date: '2025-03-10', weekday: 'monday', time: '08:00' });
    assert.deepStrictEqual(nextOpening(flow, new Date('2025-03-10T11:00:00Z')), { date: '2025-03-10', weekday: 'monday', time: '08:00' });
    assert.deepStrictEqual(nextOpening(flow, new Date('2025-12-25T15:00:00Z')), { date: '2025-12-26', weekday: 'friday', time: '08:00' });
    assert.equal(nextOpening(flow, new Date('2025-03-10T14:00:00Z')), null);
  });

  it('parses day hours in the forms a person writes them', () => {
    assert.deepStrictEqual(parseDayHours('08:00-12:00, 13:00-17:00'), [[480, 720], [780, 1020]]);
    assert.deepStrictEqual(parseDayHours(['13:00 - 17:00', '08:00-12:00']), [[480, 720], [780, 1020]]);
    assert.deepStrictEqual(parseDayHours('closed'), []);
    assert.deepStrictEqual(parseDayHours('00:00-24:00'), [[0, 1440]]);
    assert.match(parseDayHours('8am-5pm') as string, /is not a time range: write it like 08:00-17:00/);
    assert.match(parseDayHours('08:00-12:00, 11:00-13:00') as string, /overlaps/);
    assert.match(parseDayHours('22:00-02:00') as string, /cannot cross midnight: use 22:00-24:00 and 00:00-02:00/);
  });

  it('a flow without hours is always open', () => {
    assert.equal(isOpen({ hours: undefined }, new Date('2025-03-08T03:00:00Z')), true);
  });
});

describe('routing', () => {
  const mk = (name: string, numbers: string[], isDefault = false) => ({ name, numbers, default: isDefault }) as unknown as Flow;

  it('normalizes called numbers and SIP URIs', () => {
    assert.equal(normalizeNumber(' +1 (555) 010-0200 '), '+15550100200');
    assert.equal(normalizeNumber('sip:Desk@PBX.example.com;transport=udp'), 'sip:desk@pbx.example.com');
  });

  it('routes by called number, then to the default flow, else to none', () => {
    const shop = mk('shop', ['+15550100200', 'sip:orders@pbx.example.com']);
    const dentalFlow = mk('dental', [], true);
    const router = new FlowRouter([shop, dentalFlow]);
    assert.equal(router.route('+15550100200'), shop);
    assert.equal(router.route('sip:ORDERS@pbx.example.com;user=phone'), shop);
    assert.equal(router.route('+15550100999'), dentalFlow);
    assert.equal(router.defaultFlow, dentalFlow);
    assert.equal(new FlowRouter([shop]).route('+15550100999'), null);
  });
});
