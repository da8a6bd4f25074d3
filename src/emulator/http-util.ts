/**
 * What the emulator's REST endpoints (generate-content.ts, stream-generate.ts, tts-endpoint.ts)
 * share: reading a request body, and answering an error in Google's shape
 * (`{error: {code, message, status}}`), including the queued faults (429 with RetryInfo, 500, 503).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

const STATUS_NAMES: Record<number, string> = { 400: 'INVALID_ARGUMENT', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function sendError(res: ServerResponse, code: number, message: string, details?: unknown[]): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { code, message, status: STATUS_NAMES[code] ?? 'UNKNOWN', ...(details ? { details } : {}) } }));
}

/** A queued fault: 429 with RetryInfo (`retryDelay`, default "1s"), 500 or 503. */
export function sendFault(res: ServerResponse, status: 429 | 500 | 503, retryDelay?: string): void {
  if (status === 429) {
    return sendError(res, 429, 'You exceeded your current quota (emulated).', [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: retryDelay ?? '1s' }]);
  }
  sendError(res, status, status === 503 ? 'The model is overloaded. Please try again later. (emulated)' : 'An internal error has occurred. (emulated)');
}
