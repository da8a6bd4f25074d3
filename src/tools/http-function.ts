/**
 * HTTP functions: a business function declared in a flow file that POSTs its arguments to the
 * business's own endpoint.
 *
 * Request: `POST <url>`, `Content-Type: application/json`, body
 *   {"name": "<function>", "args": {…validated arguments…}, "call": {"sid": "CA…", "flow": "…", "stage": "…"}}
 * signed with the flow's secret:
 *   X-Callbridge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">
 * The endpoint should recompute the HMAC over the raw body, compare in constant time and refuse
 * timestamps more than 5 minutes old (see verifySignature, and examples/order-service.ts).
 *
 * Reply: a 2xx JSON reply becomes the function's output. A non-2xx reply whose JSON has a string
 * `error` passes that message to the model (a business error: "no order with that number");
 * any other non-2xx, a non-JSON reply, or no reply in time is a failure.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { ToolError } from './define.js';
import type { Tool, ToolBehavior, ToolScheduling } from './types.js';

export const SIGNATURE_HEADER = 'X-Callbridge-Signature';
/** Replies larger than this are refused (the model gets at most maxResponseBytes anyway). */
const MAX_REPLY_BYTES = 1024 * 1024;

/** One declared argument of an HTTP function (the flow file's `parameters` entries). */
export interface HttpParam {
  type: 'string' | 'number' | 'integer' | 'boolean' | 'array';
  description?: string | undefined;
  /** Default true. */
  required?: boolean | undefined;
  /** Allowed values (strings only). */
  enum?: string[] | undefined;
  minimum?: number | undefined;
  maximum?: number | undefined;
  /** Item type of an array. */
  items?: 'string' | 'number' | 'integer' | 'boolean' | undefined;
}

export interface HttpFunctionSpec {
  name: string;
  description: string;
  url: string;
  timeoutMs?: number | undefined;
  parameters?: Record<string, HttpParam> | undefined;
  /** Default 'blocking' (the bot needs the answer); 'non_blocking' for a background action. */
  behavior?: ToolBehavior | undefined;
  /** A non-blocking function's answer: 'when_idle' (default), 'interrupt' or 'silent'. */
  scheduling?: ToolScheduling | undefined;
}

export interface HttpToolOptions {
  /** The flow's signing secret. */
  secret: string;
  /** The flow file, for messages. */
  source: string;
  now?: () => number;
}

/** `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` */
export function signRequest(secret: string, body: string, unixS: number): string {
  const mac = createHmac('sha256', secret).update(`${unixS}.${body}`).digest('hex');
  return `t=${unixS},v1=${mac}`;
}

/** Checks a signature header against the raw body; refuses timestamps further than `toleranceS` from now. */
export function verifySignature(secret: string, header: string | undefined, body: string, nowS: number, toleranceS = 300): boolean {
  if (!header) return false;
  const fields = new Map(header.split(',').map((p) => p.trim().split('=') as [string, string | undefined]));
  const t = Number(fields.get('t'));
  const v1 = fields.get('v1');
  if (!Number.isInteger(t) || !v1 || !/^[0-9a-f]{64}$/.test(v1) || Math.abs(nowS - t) > toleranceS) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(v1, 'hex'));
}

function scalar(type: NonNullable<HttpParam['items']>, p: Pick<HttpParam, 'enum' | 'minimum' | 'maximum'>): z.ZodType {
  if (type === 'string') return p.enum && p.enum.length > 0 ? z.enum(p.enum as [string, ...string[]]) : z.string();
  if (type === 'boolean') return z.boolean();
  let n = type === 'integer' ? z.int() : z.number();
  if (p.minimum !== undefined) n = n.min(p.minimum);
  if (p.maximum !== undefined) n = n.max(p.maximum);
  return n;
}

/** The zod object for declared parameters: it validates the model's arguments and yields the declaration. */
export function paramsToZod(params: Record<string, HttpParam> = {}): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, p] of Object.entries(params)) {
    let s = p.type === 'array' ? z.array(scalar(p.items ?? 'string', {})) : scalar(p.type, p);
    if (p.description) s = s.describe(p.description);
    shape[name] = p.required === false ? s.optional() : s;
  }
  return z.object(shape);
}

async function readCapped(res: Response, maxBytes: number): Promise<string> {
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new Error(`reply larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A Tool that calls the business's endpoint. Errors thrown carry the status for the log; only ToolErrors reach the model. */
export function createHttpTool(spec: HttpFunctionSpec, options: HttpToolOptions): Tool {
  const schema = paramsToZod(spec.parameters);
  const now = options.now ?? Date.now;
  return {
    name: spec.name,
    kind: 'http',
    description: spec.description,
    source: options.source,
    timeoutMs: spec.timeoutMs,
    behavior: spec.behavior ?? 'blocking',
    scheduling: spec.scheduling ?? 'when_idle',
    args: () => schema,
    async run(args, ctx) {
      const body = JSON.stringify({ name: spec.name, args, call: { sid: ctx.callSid, flow: ctx.flowName, stage: ctx.stage } });
      const res = await fetch(spec.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'user-agent': 'callbridge',
          [SIGNATURE_HEADER]: signRequest(options.secret, body, Math.floor(now() / 1000)),
        },
        body,
        redirect: 'manual',
        signal: ctx.signal,
      });
      const text = await readCapped(res, MAX_REPLY_BYTES);
      let reply: unknown;
      try {
        reply = JSON.parse(text);
      } catch {
        throw new Error(`HTTP ${res.status} reply is not JSON`);
      }
      if (res.status < 200 || res.status > 299) {
        const message = (reply as { error?: unknown } | null)?.error;
        if (typeof message === 'string' && message.trim() && res.status < 500) throw new ToolError(message);
        throw new Error(`HTTP ${res.status}`);
      }
      return reply;
    },
  };
}
