/**
 * A background health check of a model whose circuit breaker is open: a short synthetic session
 * (never a caller) asked for one word. It passes when the model starts answering in time.
 */
import { GeminiLiveSession, type GeminiLiveSessionOptions } from '../gemini/index.js';
import type { Logger } from '../shared/log.js';

export interface ProbeOptions {
  apiKey: string;
  url?: string;
  log: Logger;
  /** Setup plus first content must come within this (default 8 s). */
  timeoutMs?: number;
  connect?: (options: GeminiLiveSessionOptions) => Promise<GeminiLiveSession>;
}

export function geminiProbe(o: ProbeOptions): (model: string) => Promise<boolean> {
  const timeoutMs = o.timeoutMs ?? 8000;
  const connect = o.connect ?? ((opts: GeminiLiveSessionOptions) => GeminiLiveSession.connect(opts));
  return async (model) => {
    const started = performance.now();
    let session: GeminiLiveSession | undefined;
    try {
      session = await connect({
        apiKey: o.apiKey,
        ...(o.url ? { url: o.url } : {}),
        setupTimeoutMs: timeoutMs,
        log: o.log,
        config: { model, systemInstruction: 'Automated health check of this connection. Answer with one short word.', inputTranscription: false, outputTranscription: false },
      });
      const live = session;
      const ok = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), Math.max(0, timeoutMs - (performance.now() - started)));
        const done = (result: boolean) => {
          clearTimeout(timer);
          resolve(result);
        };
        live.once('audio', () => done(true));
        live.once('text', () => done(true));
        live.once('close', () => done(false));
        live.sendClientContent([{ role: 'user', parts: [{ text: 'Say OK.' }] }], true);
      });
      o.log.info({ model, ok, ms: Math.round(performance.now() - started) }, 'model health probe');
      return ok;
    } catch (err) {
      o.log.info({ model, ok: false, code: (err as { code?: string }).code }, 'model health probe');
      return false;
    } finally {
      await session?.close('health check done');
    }
  };
}
