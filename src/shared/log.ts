/**
 * Structured logging (pino, JSON lines on stdout).
 *
 * Conventions: caller numbers, transcript text, DTMF digits and tool arguments go only under a
 * `pii` key (`log.info({ callSid, pii: { from } }, 'call started')`), which is redacted unless
 * LOG_PII=true. Secrets (API keys, auth tokens) are never passed to the logger; the redaction list
 * below is a second line of defence for the field names they would have.
 * Never log on the per-frame audio path.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export interface LogOptions {
  level?: string;
  /** Show `pii` fields (development only). */
  showPii?: boolean;
  /** Where to write; defaults to stdout. */
  destination?: NodeJS.WritableStream;
}

const SECRET_PATHS = ['apiKey', '*.apiKey', 'authToken', '*.authToken', 'token', '*.token', 'headers["x-goog-api-key"]', 'headers["x-twilio-signature"]'];

export function createLogger(options: LogOptions = {}): Logger {
  const paths = options.showPii ? SECRET_PATHS : [...SECRET_PATHS, 'pii', '*.pii'];
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'callbridge' },
      redact: { paths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? process.stdout,
  );
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
