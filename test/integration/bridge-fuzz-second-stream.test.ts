/**
 * A refusal the fuzz of bridge-fuzz-twilio.test.ts does not reach (its tokened streams have a
 * call each): a second media stream for a call that already has one. It is closed (1008) and
 * the refusal is logged with CB_TWILIO_STREAM_REFUSED.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import WebSocket from 'ws';
import twilio from 'twilio';
import { createLogger } from '../../src/shared/log.js';
import { startRig, testFlow } from '../support/e2e.js';
import { ValidMessages, twimlParameters } from '../support/twilio-fuzz.js';
import type { LogLine } from '../support/fuzz-observe.js';

describe('bridge fuzz: a second stream for a live call', () => {
  it(
    'a second media stream for a live call is closed with a logged CB_* code',
    async () => {
      const log: LogLine[] = [];
      const destination = new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString().split('\n')) if (line) log.push(JSON.parse(line) as LogLine);
          done();
        },
      });
      const rig = await startRig({ flows: { 'echo.yaml': testFlow({ model: 'gemini-emulator-echo' }) }, log: createLogger({ level: 'info', destination }) });
      const sockets: WebSocket[] = [];
      try {
        const url = rig.bridge.url;
        const callSid = `CA${'b'.repeat(32)}`;
        const form = { CallSid: callSid, AccountSid: rig.accountSid, From: '+15557654321', To: '+15550100100' };
        const hook = await fetch(`${url}/twilio/voice`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(rig.authToken!, `${url}/twilio/voice`, form) },
          body: new URLSearchParams(form).toString(),
        });
        const twiml = await hook.text();
        const token = /<Parameter name="callbridgeToken" value="([^"]+)"/.exec(twiml)?.[1];
        assert.ok(token, 'the webhook gave a stream token');
        const wsUrl = `${url.replace(/^http/, 'ws')}/twilio/media`;
        const openStream = async (streamSid: string) => {
          const ws = new WebSocket(wsUrl, { headers: { 'x-twilio-signature': twilio.getExpectedTwilioSignature(rig.authToken!, wsUrl, {}) } });
          sockets.push(ws);
          let port = 0;
          ws.on('upgrade', (res: IncomingMessage) => (port = (res.socket as Socket).localPort ?? 0));
          await new Promise((resolve, reject) => {
            ws.once('open', resolve);
            ws.once('error', reject);
          });
          const m = new ValidMessages({ accountSid: rig.accountSid, callSid, streamSid, token, parameters: twimlParameters(twiml) });
          ws.send(JSON.stringify(m.connected()));
          ws.send(JSON.stringify(m.start()));
          return { ws, port };
        };
        const first = await openStream(`MZ${'b'.repeat(32)}`);
        const second = await openStream(`MZ${'c'.repeat(32)}`);
        const code = await new Promise<number>((resolve) => second.ws.once('close', (c) => resolve(c)));
        assert.equal(code, 1008, 'the second stream is refused');
        assert.equal(first.ws.readyState, WebSocket.OPEN, 'the first one keeps running');
        const conn = log.find((l) => l.msg === 'media stream connected' && String(l['remote']).endsWith(`:${second.port}`))?.['conn'];
        const codes = log.filter((l) => l['conn'] === conn || (l['callSid'] === callSid && /stream/.test(l.msg) && l.level >= 40)).map((l) => l['code']);
        assert.ok(codes.some((c) => typeof c === 'string' && c.startsWith('CB_')), `the refusal is logged with a code (lines of that stream: ${JSON.stringify(codes)})`);
      } finally {
        for (const ws of sockets) ws.terminate();
        await rig.close();
      }
    },
  );
});
