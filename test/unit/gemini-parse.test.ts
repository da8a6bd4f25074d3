import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseServerFrame, parseDurationMs, sampleRateOf, type GeminiEvent, type ParseResult } from '../../src/gemini/parse.js';

function events(result: ParseResult): GeminiEvent[] {
  assert.equal(result.kind, 'events', result.kind === 'malformed' ? result.reason : '');
  return result.kind === 'events' ? result.events : [];
}

function pcmB64(samples: number[]): string {
  return Buffer.from(new Int16Array(samples).buffer).toString('base64');
}

const SETUP_COMPLETE = '{"setupComplete":{}}';

describe('parseServerFrame: frame types', () => {
  it('reads a text frame (string) and binary frames (Buffer, ArrayBuffer, Buffer[])', () => {
    const buf = Buffer.from(SETUP_COMPLETE);
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const parts = [Buffer.from(SETUP_COMPLETE.slice(0, 7)), Buffer.from(SETUP_COMPLETE.slice(7))];
    for (const [data, binary] of [[SETUP_COMPLETE, false], [buf, true], [ab, true], [parts, true], [buf, false]] as const) {
      assert.deepEqual(events(parseServerFrame(data, binary)), [{ type: 'setupComplete' }]);
    }
  });

  it('reads setupComplete with a sessionId', () => {
    assert.deepEqual(events(parseServerFrame('{"setupComplete":{"sessionId":"s-1"}}')), [{ type: 'setupComplete', sessionId: 's-1' }]);
  });
});

describe('parseServerFrame: serverContent', () => {
  it('decodes audio parts to the exact samples, with the rate from the mime type', () => {
    const frame = JSON.stringify({
      serverContent: {
        modelTurn: {
          parts: [
            { inlineData: { mimeType: 'audio/pcm;rate=24000', data: pcmB64([0, 1, -1, 32767, -32768]) } },
            { inlineData: { mimeType: 'audio/pcm', data: pcmB64([42]) } },
            { inlineData: { mimeType: 'audio/pcm;rate=16000', data: pcmB64([7, 8]) } },
          ],
        },
      },
    });
    const ev = events(parseServerFrame(Buffer.from(frame), true));
    assert.equal(ev.length, 3);
    const [a, b, c] = ev as Extract<GeminiEvent, { type: 'audio' }>[];
    assert.deepEqual([...a!.samples], [0, 1, -1, 32767, -32768]);
    assert.equal(a!.sampleRateHz, 24000);
    assert.deepEqual([...b!.samples], [42]);
    assert.equal(b!.sampleRateHz, 24000, 'no rate → 24 kHz');
    assert.equal(c!.sampleRateHz, 16000);
  });

  it('decodes audio correctly whatever the alignment of the decoded bytes', () => {
    // Small base64 decodes land at varying offsets of Node's pool; run enough to hit odd ones.
    for (let n = 1; n < 40; n++) {
      const samples = Array.from({ length: n }, (_, i) => (i * 997) % 65536 - 32768);
      const frame = JSON.stringify({ serverContent: { modelTurn: { parts: [{ inlineData: { mimeType: 'audio/pcm;rate=24000', data: pcmB64(samples) } }] } } });
      Buffer.from('x'.repeat(n)); // shift the pool offset
      const [ev] = events(parseServerFrame(frame)) as Extract<GeminiEvent, { type: 'audio' }>[];
      assert.deepEqual([...ev!.samples], samples);
    }
  });

  it('emits text parts and skips thoughts', () => {
    const frame = '{"serverContent":{"modelTurn":{"parts":[{"text":"thinking…","thought":true},{"text":"Hello"}]}}}';
    assert.deepEqual(events(parseServerFrame(frame)), [{ type: 'text', text: 'Hello' }]);
  });

  it('emits transcriptions with their finished flag', () => {
    const frame = '{"serverContent":{"inputTranscription":{"text":"hi there"},"outputTranscription":{"text":"Hello!","finished":true}}}';
    assert.deepEqual(events(parseServerFrame(frame)), [
      { type: 'inputTranscription', text: 'hi there', finished: false },
      { type: 'outputTranscription', text: 'Hello!', finished: true },
    ]);
  });

  it('emits every field of a multi-field frame, content before turnComplete', () => {
    const frame = JSON.stringify({
      serverContent: {
        turnComplete: true,
        turnCompleteReason: 'NEED_MORE_INPUT',
        generationComplete: true,
        waitingForInput: true,
        outputTranscription: { text: 'Bye' },
        modelTurn: { parts: [{ inlineData: { mimeType: 'audio/pcm;rate=24000', data: pcmB64([5]) } }] },
        inputTranscription: { text: 'thanks', finished: true },
      },
      usageMetadata: { totalTokenCount: 12 },
      sessionResumptionUpdate: { newHandle: 'h1', resumable: true },
    });
    const types = events(parseServerFrame(frame)).map((e) => e.type);
    assert.deepEqual(types, ['inputTranscription', 'audio', 'outputTranscription', 'generationComplete', 'waitingForInput', 'turnComplete', 'sessionResumptionUpdate', 'usage']);
    const tc = events(parseServerFrame(frame)).find((e) => e.type === 'turnComplete');
    assert.deepEqual(tc, { type: 'turnComplete', reason: 'NEED_MORE_INPUT' });
  });

  it('emits interrupted first', () => {
    const frame = '{"serverContent":{"interrupted":true,"inputTranscription":{"text":"wait"}}}';
    assert.deepEqual(events(parseServerFrame(frame)).map((e) => e.type), ['interrupted', 'inputTranscription']);
  });
});

describe('parseServerFrame: tools, goAway, resumption, usage', () => {
  it('reads a toolCall with several calls', () => {
    const frame = '{"toolCall":{"functionCalls":[{"id":"c1","name":"book","args":{"day":"mon"}},{"id":"c2","name":"hangup"}]}}';
    assert.deepEqual(events(parseServerFrame(frame)), [
      { type: 'toolCall', calls: [{ id: 'c1', name: 'book', args: { day: 'mon' } }, { id: 'c2', name: 'hangup', args: {} }] },
    ]);
  });

  it('skips a call without an id and notes it, keeping the others', () => {
    const result = parseServerFrame('{"toolCall":{"functionCalls":[{"name":"x"},{"id":"c2","name":"y","args":{}}]}}');
    assert.equal(result.kind, 'events');
    if (result.kind !== 'events') return;
    assert.deepEqual(result.events, [{ type: 'toolCall', calls: [{ id: 'c2', name: 'y', args: {} }] }]);
    assert.match(result.skipped[0]!, /functionCalls\[0\]\.id/);
  });

  it('reads a toolCallCancellation', () => {
    assert.deepEqual(events(parseServerFrame('{"toolCallCancellation":{"ids":["c1","c2"]}}')), [{ type: 'toolCallCancellation', ids: ['c1', 'c2'] }]);
  });

  it('reads goAway durations', () => {
    const ms = (d: string) => (events(parseServerFrame(JSON.stringify({ goAway: { timeLeft: d } })))[0] as { timeLeftMs?: number }).timeLeftMs;
    assert.equal(ms('50s'), 50_000);
    assert.equal(ms('0.5s'), 500);
    assert.equal(ms('1.000000001s'), 1000.000001);
    assert.equal(ms('0s'), 0);
    assert.equal(ms('soon'), undefined);
    assert.deepEqual(events(parseServerFrame('{"goAway":{}}')), [{ type: 'goAway' }]);
  });

  it('parseDurationMs refuses negative, unit-less and out-of-range values', () => {
    for (const bad of ['-1s', '5', '1.5ms', '1e3s', '999999999999s', '1.0000000001s', '']) assert.equal(parseDurationMs(bad), undefined, bad);
  });

  it('reads resumption updates, empty and with a handle', () => {
    assert.deepEqual(events(parseServerFrame('{"sessionResumptionUpdate":{}}')), [{ type: 'sessionResumptionUpdate', resumable: false }]);
    assert.deepEqual(events(parseServerFrame('{"sessionResumptionUpdate":{"newHandle":"","resumable":false}}')), [{ type: 'sessionResumptionUpdate', resumable: false }]);
    assert.deepEqual(events(parseServerFrame('{"sessionResumptionUpdate":{"newHandle":"abc","resumable":true}}')), [
      { type: 'sessionResumptionUpdate', newHandle: 'abc', resumable: true },
    ]);
  });

  it('reads usageMetadata and drops wrongly typed counts with a note', () => {
    const frame = JSON.stringify({
      usageMetadata: {
        promptTokenCount: 10,
        responseTokenCount: 5,
        totalTokenCount: 15,
        responseTokensDetails: [{ modality: 'AUDIO', tokenCount: 5 }],
        thoughtsTokenCount: 'many',
      },
    });
    const result = parseServerFrame(frame);
    assert.deepEqual(events(result), [
      { type: 'usage', usage: { promptTokenCount: 10, responseTokenCount: 5, totalTokenCount: 15, responseTokensDetails: [{ modality: 'AUDIO', tokenCount: 5 }] } },
    ]);
    assert.ok(result.kind === 'events' && result.skipped.some((s) => s.includes('thoughtsTokenCount')));
    const huge = parseServerFrame('{"usageMetadata":{"totalTokenCount":1e400}}');
    assert.deepEqual(events(huge), [{ type: 'usage', usage: {} }]);
  });

  it('notes unknown fields without failing', () => {
    const result = parseServerFrame('{"serverContent":{"turnComplete":true,"brandNew":1},"somethingElse":{}}');
    assert.equal(result.kind, 'events');
    if (result.kind !== 'events') return;
    assert.deepEqual(result.events, [{ type: 'turnComplete' }]);
    assert.deepEqual(result.unknownFields.sort(), ['serverContent.brandNew', 'somethingElse']);
  });
});

describe('parseServerFrame: garbage', () => {
  const malformed: [string, string | Buffer][] = [
    ['not JSON', 'hello'],
    ['truncated JSON', '{"setupComplete":'],
    ['JSON array', '[{"setupComplete":{}}]'],
    ['null', 'null'],
    ['a number', '42'],
    ['a huge number', '1e999'],
    ['a string', '"setupComplete"'],
    ['serverContent of the wrong type', '{"serverContent":"yes"}'],
    ['toolCall as an array', '{"toolCall":[{"id":"x"}]}'],
    ['goAway as a huge number', '{"goAway":1e999}'],
    ['an error object', '{"error":{"code":400,"message":"bad"}}'],
    ['invalid UTF-8 bytes', Buffer.from([0xff, 0xfe, 0x7b])],
    ['empty frame', ''],
  ];
  for (const [name, frame] of malformed) {
    it(`${name} → malformed`, () => {
      const result = parseServerFrame(frame);
      assert.equal(result.kind, 'malformed');
    });
  }

  it('keeps the JSON error text (which quotes the input) out of the reason', () => {
    const result = parseServerFrame('my secret words');
    assert.ok(result.kind === 'malformed');
    assert.equal(result.reason, 'frame is not valid JSON');
    assert.equal(result.preview, 'my secret words');
  });

  it('skips wrongly typed parts but keeps the rest of the frame', () => {
    const frame = JSON.stringify({
      serverContent: { modelTurn: { parts: [{ inlineData: { mimeType: 'audio/pcm', data: 5 } }, null, { text: 7 }, { text: 'ok' }] }, inputTranscription: 'x' },
    });
    const result = parseServerFrame(frame);
    assert.ok(result.kind === 'events');
    assert.deepEqual(result.events, [{ type: 'text', text: 'ok' }]);
    assert.equal(result.skipped.length, 4);
  });

  it('never throws on thousands of random mutations of valid frames', () => {
    const valid = [
      SETUP_COMPLETE,
      JSON.stringify({ serverContent: { modelTurn: { parts: [{ inlineData: { mimeType: 'audio/pcm;rate=24000', data: pcmB64([1, 2, 3, 4]) } }, { text: 'hi' }] }, turnComplete: true } }),
      '{"toolCall":{"functionCalls":[{"id":"c1","name":"book","args":{"day":"mon"}}]}}',
      '{"goAway":{"timeLeft":"1.5s"},"sessionResumptionUpdate":{"newHandle":"h","resumable":true}}',
      '{"usageMetadata":{"totalTokenCount":3,"responseTokensDetails":[{"modality":"AUDIO","tokenCount":3}]},"toolCallCancellation":{"ids":["a"]}}',
    ];
    const junk = ['null', '1e999', '[]', '{}', '"x"', 'true', '-1', '[1,{}]', '{"a":null}', '0.5'];
    let seed = 12345;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    // Replaces JSON values with junk (structural mutation) or flips characters (byte mutation).
    const mutateValue = (v: unknown): unknown => {
      if (rand(4) === 0) return JSON.parse(junk[rand(junk.length)]!);
      if (Array.isArray(v)) return v.map(mutateValue);
      if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [rand(10) === 0 ? `${k}x` : k, mutateValue(x)]));
      return v;
    };
    let malformedCount = 0;
    for (let i = 0; i < 4000; i++) {
      const base = valid[rand(valid.length)]!;
      let frame: string;
      if (i % 2 === 0) frame = JSON.stringify(mutateValue(JSON.parse(base)));
      else {
        const chars = [...base];
        for (let k = rand(4) + 1; k > 0; k--) chars[rand(chars.length)] = String.fromCharCode(rand(128));
        frame = chars.join('');
      }
      const data = i % 3 === 0 ? Buffer.from(frame) : frame;
      const result = parseServerFrame(data, i % 3 === 0);
      assert.ok(result.kind === 'events' || result.kind === 'malformed');
      // The catch-all in the parser is only defence in depth: no input should reach it.
      assert.ok(!(result.kind === 'malformed' && result.reason.startsWith('parser failure')), result.kind === 'malformed' ? result.reason : '');
      if (result.kind === 'malformed') malformedCount++;
    }
    assert.ok(malformedCount > 0, 'the mutations produced malformed frames');
  });
});

describe('sampleRateOf', () => {
  it('reads the rate and defaults to 24 kHz', () => {
    assert.equal(sampleRateOf('audio/pcm;rate=24000'), 24000);
    assert.equal(sampleRateOf('audio/pcm; rate=48000'), 48000);
    assert.equal(sampleRateOf('audio/pcm'), 24000);
    assert.equal(sampleRateOf('audio/pcm;rate=9'), 24000);
  });
});
