/**
 * The server process: read `.env` (the real environment wins, src/config/dotenv.ts), validate the environment, start callbridge, shut down gracefully on
 * SIGTERM/SIGINT (readiness off, calls drained up to a deadline, transcripts flushed).
 */
import { loadEnv, ConfigError } from './config/env.js';
import { loadDotEnv, type DotEnvResult } from './config/dotenv.js';
import { isWorkersPrimary, serveWorkers } from './workers/primary.js';
import { createLogger } from './shared/log.js';
import { CallbridgeError } from './shared/errors.js';
import { startCallbridge, listenHost } from './app.js';

async function main(): Promise<void> {
  let dotenv: DotEnvResult;
  try {
    dotenv = loadDotEnv();
  } catch (err) {
    console.error(`callbridge: ${(err as Error).message}`);
    process.exit(1);
  }
  const SHUTDOWN_DEADLINE_MS = Number(process.env['SHUTDOWN_DEADLINE_MS'] || 30_000);
  let env;
  try {
    env = loadEnv();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`callbridge: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  const log = createLogger({ level: env.LOG_LEVEL, showPii: env.LOG_PII });
  if (dotenv.file) log.info({ file: dotenv.file, applied: dotenv.applied, keptFromEnvironment: dotenv.overridden }, 'read variables from the .env file (the real environment wins)');
  // WORKERS=N: this process only supervises N workers sharing the port (src/workers/primary.ts).
  if (isWorkersPrimary(env.WORKERS)) process.exit(await serveWorkers({ workers: env.WORKERS, log, shutdownDeadlineMs: SHUTDOWN_DEADLINE_MS, host: listenHost(env) }));
  let bridge;
  try {
    bridge = await startCallbridge({ env, log });
  } catch (err) {
    if (err instanceof CallbridgeError && (err.code === 'CB_FLOW_INVALID' || err.code === 'CB_CONFIG_INVALID')) {
      console.error(`callbridge: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  log.info(
    { port: bridge.port, publicBaseUrl: bridge.publicBaseUrl, flows: bridge.catalog.current.flows.map((f) => f.name), emulator: bridge.gemini.emulated },
    `callbridge listening on ${bridge.url} (voice webhook: ${bridge.publicBaseUrl}/twilio/voice)`,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutting down: no new calls, draining active ones');
    bridge.shutdown(SHUTDOWN_DEADLINE_MS).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error('callbridge: failed to start:', err);
  process.exit(1);
});
