/**
 * Process configuration from the environment, validated once at boot. Every problem is reported
 * at once, naming the variable; the result is frozen.
 */
import { z } from 'zod';
import { notifySecretProblem } from '../notify/sign.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const booleanish = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Listen address; unset: 0.0.0.0 with ADMIN_TOKEN, 127.0.0.1 without (see app.ts listenHost). */
  HOST: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  LOG_PII: booleanish.default(false),
  DATA_DIR: z.string().min(1).default('./data'),
  /** postgres://user:password@host:5432/db: the call store on PostgreSQL, shared by every instance (docs/scale-out.md); unset: SQLite under DATA_DIR. */
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\/\S+$/i, 'must be a postgres:// (or postgresql://) URL').optional(),
  /** Directory holding recordings/<CallSid>.wav (default DATA_DIR): one every instance can read, e.g. a shared volume (docs/scale-out.md). */
  RECORDINGS_DIR: z.string().min(1).optional(),
  /** Flow files (flows/*.yaml) and code functions (tools/*.ts). */
  FLOWS_DIR: z.string().min(1).default('./flows'),
  TOOLS_DIR: z.string().min(1).default('./tools'),
  /** https origin Twilio reaches; the wss media URL and every signature check derive from it. */
  PUBLIC_BASE_URL: z
    .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL such as https://bot.example.com' })
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
  TWILIO_ACCOUNT_SID: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must look like AC followed by 32 hex digits').optional(),
  TWILIO_AUTH_TOKEN: z.string().min(16, 'looks too short for a Twilio auth token').optional(),
  /** Override of Twilio's REST API origin (tests point it at a local fake). */
  TWILIO_API_BASE_URL: z.url().optional(),
  GEMINI_API_KEY: z.string().min(1).optional(),
  /** Override of the Live endpoint (the emulator, or a proxy). */
  GEMINI_LIVE_URL: z.url({ protocol: /^wss?$/, error: 'must be a ws:// or wss:// URL' }).optional(),
  GEMINI_MODEL: z.string().min(1).optional(),
  /** Origin of Google Cloud Text-to-Speech (`/v1/text:synthesize`) for cascade flows (docs/cascade.md); default Google's, or the built-in emulator without a key. */
  TTS_BASE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).transform((u) => u.replace(/\/+$/, '')).optional(),
  /** Text model of the post-call analysis (docs/after-call.md); default src/aftercall/gemini-rest.ts. */
  ANALYSIS_MODEL: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,63}$/, 'must be a model id such as gemini-3.8-flash').optional(),
  /** Origin of Gemini's REST API (generateContent); default Google's. Tests and the emulator stand in. */
  GEMINI_API_BASE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).transform((u) => u.replace(/\/+$/, '')).optional(),
  /**
   * How long Gemini may stay silent after signalling it is generating a reply before the session
   * is replaced (until enough healthy replies have been seen to learn the limit).
   */
  GEMINI_STALL_TIMEOUT_MS: z.coerce.number().int().min(300).max(30_000).default(1500),
  /**
   * Calls one process runs at once; more are answered busy (or dialled to FALLBACK_NUMBER) with no
   * Gemini session, and /readyz says at_capacity. Default 100: the largest load the README's
   * Performance section measured with p99 frame-to-frame ≤ 20 ms on one process.
   */
  MAX_CALLS: z.coerce.number().int().min(1).max(10_000).default(100),
  /** Admitted calls whose media stream has not started yet (each holds a pre-opened Gemini session); more are answered busy. */
  MAX_PENDING_CALLS: z.coerce.number().int().min(1).max(10_000).default(20),
  /**
   * While the server shuts down (SIGTERM), new calls are sent here with <Dial> (E.164, e.g. a
   * second instance's number or the front desk); without it they hear a short message.
   */
  FALLBACK_NUMBER: z.string().regex(/^\+[1-9][0-9]{7,14}$/, 'must be a phone number in international format, e.g. +15551234567').optional(),
  /**
   * Test clock: business hours, closed dates and functions' ctx.now() start at this instant and
   * advance normally (try the closed-hours path at noon). An ISO 8601 time with its offset.
   */
  CALLBRIDGE_NOW: z.iso
    .datetime({ offset: true, error: 'must be an ISO 8601 time with its offset, e.g. 2026-12-25T09:00:00-05:00' })
    .refine((v) => !Number.isNaN(Date.parse(v)), 'is not a real date and time')
    .optional(),
  /**
   * The business's time zone (IANA name) for calls whose flow has no `hours.timeZone`: dashboard
   * days, times in the review UI and the `calls` CLI. Default UTC.
   */
  TIME_ZONE: z
    .string()
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'is not a known time zone: use an IANA name such as America/New_York or Europe/Paris')
    .optional(),
  /** This instance's name in the shared registry and on call records (docs/scale-out.md); default <host>-<pid>-<random>. */
  INSTANCE_ID: z.string().regex(/^[\w.-]{1,64}$/, 'must be 1-64 letters, digits, dots, dashes or underscores').optional(),
  /** This instance's own http(s) URL as Twilio reaches it: the TwiML's stream then lands on the instance that pre-opened the call. */
  INSTANCE_URL: z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' }).transform((u) => u.replace(/\/+$/, '')).optional(),
  /** Stream-token secret shared by every instance behind one URL (webhook and stream may land on different ones); random per process when unset. */
  STREAM_TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -hex 32)').optional(),
  /** On SIGTERM, move live calls to another ready instance instead of waiting for them (docs/scale-out.md, "Live migration"); needs the shared database, STREAM_TOKEN_SECRET and Twilio REST credentials. */
  MIGRATE_ON_DRAIN: booleanish.default(false),
  /** Emulator scenarios per flow (<dir>/<flow>.yaml), used without a Gemini key. */
  SCENARIOS_DIR: z.string().min(1).default('./scenarios'),
  /** Token protecting the call review UI and JSON API (/calls, /api/calls). Required in production. */
  ADMIN_TOKEN: z.string().min(12, 'must be at least 12 characters').optional(),
  /** Bearer token for GET /metrics alone (Prometheus); ADMIN_TOKEN works too (docs/metrics.md). */
  METRICS_TOKEN: z.string().min(12, 'must be at least 12 characters').optional(),
  /** Processes sharing PORT, one event loop each (src/workers/primary.ts); 1: no cluster. */
  WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  /**
   * Key that signs the notifications (Standard Webhooks, docs/after-call.md): whsec_ + base64 of
   * 24 to 64 random bytes. Production refuses to start when a flow has `notify` and this is unset.
   */
  NOTIFY_SECRET: z
    .string()
    .superRefine((v, ctx) => void (notifySecretProblem(v) && ctx.addIssue({ code: 'custom', message: notifySecretProblem(v)! })))
    .optional(),
  /** Allow notifications to loopback, private and link-local addresses in production (always allowed in development). */
  NOTIFY_ALLOW_PRIVATE: booleanish.default(false),
  /**
   * Express's "trust proxy" setting: which hops may set X-Forwarded-For/-Proto/-Host, so the
   * client address (the admin throttle counts per address) is the real caller's, not the proxy's.
   * Unset: no proxy is trusted (req.ip is the socket's peer). `true` trusts every hop (only when
   * nothing can reach the server except through the proxy); a number trusts that many hops; else
   * a comma-separated list of addresses/subnets or the names loopback, linklocal, uniquelocal.
   */
  TRUST_PROXY: z
    .string()
    .regex(/^[\w.:/, -]+$/, 'must be true, false, a hop count, or a list of addresses/subnets (loopback, 10.0.0.0/8, ...)')
    .transform((v): boolean | number | string => (v === 'true' ? true : v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : v))
    .optional(),
});

export type Env = Readonly<z.infer<typeof EnvSchema>>;

export class ConfigError extends Error {
  readonly code = 'CB_CONFIG_INVALID';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Validates `source` (default: process.env); throws a ConfigError listing every problem. */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  // Empty strings (VAR= in a .env file) mean "not set".
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const result = EnvSchema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  return Object.freeze(result.data);
}
