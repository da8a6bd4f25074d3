/**
 * The floor of the load benchmark (`npm run bench:load -- --floor`): the least a bridge between
 * Twilio Media Streams and Gemini Live can do, measured by the same driver and emulator as
 * callbridge. Per call it answers the webhook with <Connect><Stream>, opens the Gemini session at
 * webhook time (as callbridge does), and then per message: JSON.parse, base64, μ-law, a sample
 * rate change with no filter at all (each 8 kHz sample twice; every third 24 kHz sample),
 * base64 and a JSON string out; `interrupted` → `clear`. No signature check, no flows, no
 * transcripts, no marks, no recovery: nothing a business could run, only Node + ws + JSON +
 * base64 + sockets, so a row of the floor says what the machine and the measuring programs
 * themselves add to every figure.
 *
 * Prints "callbridge listening on <url>" like src/main.ts so the bench starts it the same way.
 */
import { createServer } from 'node:http';
import { WebSocketServer, WebSocket } from 'ws';
import { decodeMulaw, encodeMulaw } from '../../src/audio/mulaw.js';
import { liveUrl } from '../../src/gemini/connect.js';

const GEMINI_URL = liveUrl(process.env['GEMINI_LIVE_URL']).toString();
const MODEL = 'models/gemini-emulator-echo';
const AUDIO_PREFIX = '{"realtimeInput":{"audio":{"mimeType":"audio/pcm;rate=16000","data":"';

interface PendingSession {
  ws: WebSocket;
  ready: boolean;
  /** Audio that came before setupComplete, sent after it (as callbridge does). */
  early: string[];
}
const sessions = new Map<string, PendingSession>();

function openGemini(callSid: string): void {
  const ws = new WebSocket(GEMINI_URL, { headers: { 'x-goog-api-key': 'floor' }, perMessageDeflate: false });
  const s: PendingSession = { ws, ready: false, early: [] };
  sessions.set(callSid, s);
  ws.on('open', () => ws.send(JSON.stringify({ setup: { model: MODEL, generationConfig: { responseModalities: ['AUDIO'] } } })));
  ws.once('message', () => {
    // setupComplete
    s.ready = true;
    for (const m of s.early.splice(0)) ws.send(m);
  });
  ws.on('error', () => sessions.delete(callSid));
}

const http = createServer((req, res) => {
  let body = '';
  req.on('data', (d: Buffer) => (body += d.toString()));
  req.on('end', () => {
    const callSid = new URLSearchParams(body).get('CallSid') ?? '';
    openGemini(callSid);
    const url = `ws://${req.headers.host}/twilio/media`;
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(`<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="${url}"/></Connect></Response>`);
  });
});

const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
wss.on('connection', (twilio) => {
  let gemini: PendingSession | undefined;
  let mediaPrefix = '';
  const pcm8k = new Int16Array(160);
  const pcm16k = new Int16Array(320);
  twilio.on('message', (data: Buffer) => {
    const m = JSON.parse(data.toString('utf8')) as { event: string; streamSid?: string; start?: { callSid: string }; media?: { payload: string } };
    if (m.event === 'start' && m.start) {
      gemini = sessions.get(m.start.callSid);
      sessions.delete(m.start.callSid);
      mediaPrefix = `{"event":"media","streamSid":${JSON.stringify(m.streamSid)},"media":{"payload":"`;
      const clear = `{"event":"clear","streamSid":${JSON.stringify(m.streamSid)}}`;
      gemini?.ws.on('message', (raw: Buffer) => {
        const g = JSON.parse(raw.toString('utf8')) as { serverContent?: { interrupted?: boolean; modelTurn?: { parts?: { inlineData?: { data: string } }[] } } };
        for (const part of g.serverContent?.modelTurn?.parts ?? []) {
          if (!part.inlineData) continue;
          const bytes = Buffer.from(part.inlineData.data, 'base64');
          const pcm24k = new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 1);
          const out = new Int16Array(Math.floor(pcm24k.length / 3));
          for (let i = 0; i < out.length; i++) out[i] = pcm24k[3 * i + 2]!;
          twilio.send(mediaPrefix + Buffer.from(encodeMulaw(out)).toString('base64') + '"}}');
        }
        if (g.serverContent?.interrupted) twilio.send(clear);
      });
      twilio.on('close', () => gemini?.ws.close());
    } else if (m.event === 'media' && m.media && gemini) {
      const mulaw = Buffer.from(m.media.payload, 'base64');
      decodeMulaw(mulaw, pcm8k);
      for (let i = 0; i < mulaw.length; i++) pcm16k[2 * i] = pcm16k[2 * i + 1] = pcm8k[i]!;
      const bytes = Buffer.from(pcm16k.buffer, 0, mulaw.length * 4);
      const message = AUDIO_PREFIX + bytes.toString('base64') + '"}}}';
      if (gemini.ready) gemini.ws.send(message);
      else gemini.early.push(message);
    }
  });
});

http.listen(0, '127.0.0.1', () => {
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  console.log(`callbridge listening on http://127.0.0.1:${port} (the floor relay, not callbridge)`);
});
process.on('SIGTERM', () => process.exit(0));
