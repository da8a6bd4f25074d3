import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MODELS, checkRealtimeInput, checkSetup, parseAudioMime, parseClientFrame, truncateReason } from '../../src/emulator/index.js';
import { isProtoBase64 } from '../../src/emulator/validate.js';
import { SeededRng } from '../../src/emulator/faults.js';
import type { Setup } from '../../src/gemini/protocol.js';

const MODEL = 'models/gemini-2.5-flash-native-audio-preview-12-2025';

function rejection(frame: string): { code: number; reason: string } {
  const r = parseClientFrame(frame);
  assert.equal(r.kind, 'reject', `expected a rejection of ${frame}`);
  return r.kind === 'reject' ? r.close : { code: 0, reason: '' };
}

function setupCheck(setup: Record<string, unknown>) {
  const parsed = parseClientFrame(JSON.stringify({ setup }));
  assert.equal(parsed.kind, 'ok');
  return checkSetup((parsed as { message: { setup: Setup } }).message.setup, DEFAULT_MODELS, 'v1beta');
}

describe('emulator frame parsing', () => {
  it('accepts camelCase and snake_case and hands on camelCase', () => {
    const r = parseClientFrame('{"setup":{"model":"m","generation_config":{"response_modalities":["AUDIO"]},"realtimeInputConfig":{"automatic_activity_detection":{"silence_duration_ms":300}}}}');
    assert.equal(r.kind, 'ok');
    assert.deepEqual((r as { message: unknown }).message, {
      setup: { model: 'm', generationConfig: { responseModalities: ['AUDIO'] }, realtimeInputConfig: { automaticActivityDetection: { silenceDurationMs: 300 } } },
    });
  });

  it('treats null as not set (seed 002 sends sessionResumption.handle: null)', () => {
    const r = parseClientFrame('{"setup":{"model":"m","sessionResumption":{"handle":null}}}');
    assert.deepEqual((r as { message: unknown }).message, { setup: { model: 'm', sessionResumption: {} } });
  });

  it('leaves free-form JSON (function args, tool responses) untouched', () => {
    const r = parseClientFrame('{"tool_response":{"function_responses":[{"id":"1","name":"f","response":{"output":{"snake_key":1,"Unknown":[null]}}}]}}');
    assert.deepEqual((r as { message: unknown }).message, {
      toolResponse: { functionResponses: [{ id: '1', name: 'f', response: { output: { snake_key: 1, Unknown: [null] } } }] },
    });
  });

  it('unknown names → 1007 with the proto path in snake_case', () => {
    assert.deepEqual(rejection('{"setup":{"model":"m","proactivty":{}}}'), {
      code: 1007,
      reason: `Invalid JSON payload received. Unknown name "proactivty" at 'setup': Cannot find field.`,
    });
    assert.deepEqual(rejection('{"setup":{"model":"m","generationConfig":{"speechConfig":{"voice":"Puck"}}}}'), {
      code: 1007,
      reason: `Invalid JSON payload received. Unknown name "voice" at 'setup.generation_config.speech_config': Cannot find field.`,
    });
    assert.deepEqual(rejection('{"clientContent":{"turns":[{"role":"user","parts":[{"txt":"hi"}]}]}}'), {
      code: 1007,
      reason: `Invalid JSON payload received. Unknown name "txt" at 'client_content.turns[0].parts[0]': Cannot find field.`,
    });
    assert.deepEqual(rejection('{"sessionUpdate":{}}'), { code: 1007, reason: 'Invalid JSON payload received. Unknown name "sessionUpdate": Cannot find field.' });
    // contextUpdate parses (docs/gemini-live.md §2.5); whether a model takes it is a family rule.
    assert.equal(parseClientFrame('{"contextUpdate":{"tools":{"tools":[]}}}').kind, 'ok');
    assert.deepEqual(rejection('{"contextUpdate":{"tools":[]}}').code, 1007);
  });

  it('wrong value types and enum spellings → 1007 invalid value', () => {
    const lower = rejection('{"setup":{"model":"m","generationConfig":{"responseModalities":["audio"]}}}');
    assert.equal(lower.code, 1007);
    assert.ok(lower.reason.startsWith(`Invalid JSON payload received. Invalid value at 'setup.generation_config.response_modalities[0]'`));
    assert.equal(rejection('{"clientContent":{"turnComplete":"yes"}}').code, 1007);
    assert.equal(rejection('{"realtimeInput":{"audio":{"mimeType":"audio/pcm","data":"not base64!"}}}').code, 1007);
    assert.equal(rejection('{"setup":{"tools":{"functionDeclarations":[]}}}').code, 1007);
  });

  it('documented-but-unsupported generation fields → 1007 invalid argument', () => {
    assert.deepEqual(rejection('{"setup":{"model":"m","generationConfig":{"responseMimeType":"text/plain"}}}'), { code: 1007, reason: 'Request contains an invalid argument.' });
  });

  it('a message must carry exactly one of setup/clientContent/realtimeInput/toolResponse', () => {
    assert.deepEqual(rejection('{}'), { code: 1007, reason: 'Request contains an invalid argument.' });
    const two = rejection('{"clientContent":{},"realtimeInput":{}}');
    assert.equal(two.code, 1007);
    assert.match(two.reason, /Oneof field 'message_type' is already set/);
  });

  it('bytes fields: the table check accepts exactly what the proto3-JSON base64 pattern accepts', () => {
    const pattern = /^(?:[A-Za-z0-9+/\-_]{4})*(?:[A-Za-z0-9+/\-_]{2}(?:==)?|[A-Za-z0-9+/\-_]{3}=?)?$/;
    const alphabet = 'AZaz09+/-_=.! \u00e9\u{1F600}"';
    const rng = new SeededRng(7);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const length = Math.floor(rng.next() * 10);
      let s = '';
      for (let j = 0; j < length; j++) s += rng.next() < 0.85 ? 'Ab9+/-_'[Math.floor(rng.next() * 7)]! : [...alphabet][Math.floor(rng.next() * [...alphabet].length)]!;
      assert.equal(isProtoBase64(s), pattern.test(s), `verdicts differ for ${JSON.stringify(s)}`);
      if (pattern.test(s)) accepted++;
    }
    assert.ok(accepted > 2000 && accepted < 18_000, `both verdicts well represented (${accepted} accepted of 20000)`);
    for (const s of ['', 'AAAA', 'AA==', 'AAA=', 'AA', 'AAA', 'A', 'AA=', 'AAA==', '=', '====', 'AA==AA', 'A-_B']) {
      assert.equal(isProtoBase64(s), pattern.test(s), `verdicts differ for ${JSON.stringify(s)}`);
    }
  });

  it('non-JSON and non-object frames → 1007', () => {
    assert.equal(rejection('{"setup":').code, 1007);
    assert.equal(rejection('[1]').code, 1007);
    assert.equal(parseClientFrame(Buffer.from([0xff, 0xfe])).kind, 'reject');
  });
});

describe('emulator setup checks', () => {
  it('accepts a served model with AUDIO (or no modality)', () => {
    const r = setupCheck({ model: MODEL, generationConfig: { responseModalities: ['AUDIO'] } });
    assert.equal(r.kind, 'ok');
    assert.equal(r.kind === 'ok' && r.facts.modelId, 'gemini-2.5-flash-native-audio-preview-12-2025');
    assert.equal(setupCheck({ model: MODEL }).kind, 'ok');
  });

  it('two modalities → 1007 invalid argument', () => {
    assert.deepEqual(setupCheck({ model: MODEL, generationConfig: { responseModalities: ['AUDIO', 'TEXT'] } }), {
      kind: 'reject',
      close: { code: 1007, reason: 'Request contains an invalid argument.' },
    });
  });

  it('TEXT on native audio → 1007 "Cannot extract voices…" (2.5), 1011 internal (3.x)', () => {
    assert.deepEqual(setupCheck({ model: MODEL, generationConfig: { responseModalities: ['TEXT'] } }), {
      kind: 'reject',
      close: { code: 1007, reason: 'Cannot extract voices from a non-audio request.' },
    });
    assert.deepEqual(setupCheck({ model: 'models/gemini-3.1-flash-live-preview', generationConfig: { responseModalities: ['TEXT'] } }), {
      kind: 'reject',
      close: { code: 1011, reason: 'Internal error encountered.' },
    });
  });

  it('unknown, retired and Vertex-only models → 1008 not found, truncated to 123 bytes', () => {
    for (const model of ['models/gemini-live-2.5-flash-native-audio', 'models/gemini-2.0-flash-live-001', 'gemini-2.5-flash-native-audio-preview-12-2025']) {
      const r = setupCheck({ model });
      assert.equal(r.kind, 'reject');
      if (r.kind !== 'reject') continue;
      assert.equal(r.close.code, 1008);
      const full = `${model} is not found for API version v1beta, or is not supported for bidiGenerateContent. Call ListModels to see the list of available models and their supported methods.`;
      assert.equal(r.close.reason, truncateReason(full));
      assert.ok(Buffer.byteLength(r.close.reason) <= 123 && r.close.reason.length < full.length);
    }
  });

  it('enum on a non-STRING schema → 1007 with the field path', () => {
    const r = setupCheck({
      model: MODEL,
      tools: [{ functionDeclarations: [{ name: 'f', parameters: { type: 'OBJECT', properties: { ids: { type: 'ARRAY', items: { type: 'INTEGER', enum: ['1'] } } } } }] }],
    });
    assert.equal(r.kind, 'reject');
    assert.deepEqual(r.kind === 'reject' && r.close, {
      code: 1007,
      reason: truncateReason('* BidiGenerateContentRequest.setup.tools[0].function_declarations[0].parameters.properties[ids].items.enum: only allowed for STRING type\n'),
    });
  });
});

describe('emulator realtimeInput checks', () => {
  const strict = { strictAudioMime: true, rejectMediaChunks: true, automaticActivityDetection: true };

  it('mediaChunks → 1007 deprecated', () => {
    assert.deepEqual(checkRealtimeInput({ mediaChunks: [{ mimeType: 'audio/pcm', data: '' }] }, strict), {
      kind: 'reject',
      close: { code: 1007, reason: 'realtime_input.media_chunks is deprecated. Use audio, video, or text instead.' },
    });
    assert.equal(checkRealtimeInput({ mediaChunks: [] }, { ...strict, rejectMediaChunks: false }).kind, 'ok');
  });

  it('audio mime: 16 kHz PCM (or plain audio/pcm) only in strict mode; any PCM rate when lenient', () => {
    assert.deepEqual(checkRealtimeInput({ audio: { mimeType: 'audio/pcm;rate=16000', data: '' } }, strict), { kind: 'ok', audioRateHz: 16000 });
    assert.deepEqual(checkRealtimeInput({ audio: { mimeType: 'audio/pcm', data: '' } }, strict), { kind: 'ok', audioRateHz: 16000 });
    for (const mimeType of ['audio/pcm;rate=24000', 'audio/wav', 'audio/pcm;rate=abc', '']) {
      assert.deepEqual(checkRealtimeInput({ audio: { mimeType, data: '' } }, strict), { kind: 'reject', close: { code: 1007, reason: 'Request contains an invalid argument.' } }, mimeType);
    }
    assert.deepEqual(checkRealtimeInput({ audio: { mimeType: 'audio/pcm; rate=24000', data: '' } }, { ...strict, strictAudioMime: false }), { kind: 'ok', audioRateHz: 24000 });
    assert.deepEqual(parseAudioMime('AUDIO/PCM;RATE=8000'), { rateHz: 8000 });
  });

  it('activityStart/End with automatic VAD on → 1007', () => {
    const r = checkRealtimeInput({ activityStart: {} }, strict);
    assert.equal(r.kind === 'reject' && r.close.code, 1007);
    assert.equal(checkRealtimeInput({ activityStart: {} }, { ...strict, automaticActivityDetection: false }).kind, 'ok');
  });
});

describe('close reason truncation', () => {
  it('cuts at 123 bytes on a UTF-8 character boundary', () => {
    assert.equal(truncateReason('short'), 'short');
    assert.equal(truncateReason('x'.repeat(200)), 'x'.repeat(123));
    const cut = truncateReason('x'.repeat(122) + 'é');
    assert.equal(cut, 'x'.repeat(122));
    assert.ok(Buffer.byteLength(cut) <= 123);
  });
});
