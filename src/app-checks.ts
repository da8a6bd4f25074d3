/**
 * The boot's safety checks: what NODE_ENV=production refuses to start without, and where to
 * listen (loopback only without ADMIN_TOKEN). Used by app.ts before anything opens.
 */
import type { Env } from './config/env.js';
import { CallbridgeError } from './shared/errors.js';
import type { Flow } from './flows/index.js';
import { notifyProductionProblems } from './notify/wire.js';
import { isLoopbackAddress } from './web/loopback.js';

/** ADMIN_TOKEN length production requires (`openssl rand -base64 32` gives 44 characters). */
export const PRODUCTION_ADMIN_TOKEN_MIN = 32;

/**
 * Production refuses to start without the settings that keep it safe: one error naming every
 * problem. `flowWarnings`: the boot load's warnings (a flow secret left at its built-in default).
 */
export function checkProduction(env: Env, flowWarnings: readonly { file: string; message: string }[] = [], flows: readonly Flow[] = []): void {
  if (env.NODE_ENV !== 'production') return;
  const missing: string[] = [];
  if (!env.TWILIO_AUTH_TOKEN) missing.push('TWILIO_AUTH_TOKEN (without it, anyone could forge Twilio requests)');
  if (!env.PUBLIC_BASE_URL) missing.push('PUBLIC_BASE_URL (the https origin Twilio reaches; signatures are checked against it)');
  else if (!env.PUBLIC_BASE_URL.startsWith('https://')) missing.push('PUBLIC_BASE_URL must be https:// (Twilio signs the https URL; an http one exposes the stream tokens)');
  if (!env.ADMIN_TOKEN) missing.push(`ADMIN_TOKEN (protects call records; at least ${PRODUCTION_ADMIN_TOKEN_MIN} random characters, e.g. openssl rand -base64 32)`);
  else if (env.ADMIN_TOKEN.length < PRODUCTION_ADMIN_TOKEN_MIN) missing.push(`ADMIN_TOKEN must be at least ${PRODUCTION_ADMIN_TOKEN_MIN} characters (e.g. openssl rand -base64 32)`);
  if (!env.GEMINI_API_KEY && !env.GEMINI_LIVE_URL) missing.push('GEMINI_API_KEY (the built-in emulator is for development only)');
  for (const w of flowWarnings) {
    if (/secret comes from a built-in default/.test(w.message)) missing.push(`${w.file}: the HTTP-function secret is the built-in default; set its environment variable`);
  }
  missing.push(...notifyProductionProblems(env, flows)); // NOTIFY_SECRET, https webhooks
  if (missing.length > 0) {
    throw new CallbridgeError('CB_CONFIG_INVALID', `NODE_ENV=production needs:\n${missing.map((m) => `  - ${m}`).join('\n')}`);
  }
}

/**
 * Where to listen. HOST when set; otherwise 0.0.0.0 with ADMIN_TOKEN and 127.0.0.1 without it
 * (the review UI is open without a token: only this machine may reach it). A non-loopback HOST
 * without ADMIN_TOKEN is refused (production has its own refusal above).
 */
export function listenHost(env: Env): string {
  if (env.HOST === undefined) return env.ADMIN_TOKEN ? '0.0.0.0' : '127.0.0.1';
  if (!env.ADMIN_TOKEN && !isLoopbackAddress(env.HOST)) {
    throw new CallbridgeError(
      'CB_CONFIG_INVALID',
      `HOST=${env.HOST} without ADMIN_TOKEN would open the call review UI and API to the network: set ADMIN_TOKEN, or HOST=127.0.0.1`,
    );
  }
  return env.HOST;
}
