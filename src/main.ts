/**
 * Composition root: load configuration, build the pieces, start the HTTP server, shut down
 * cleanly on SIGTERM/SIGINT.
 */
import type { AddressInfo } from 'node:net';
import { loadEnv, ConfigError } from './config/env.js';
import { createLogger } from './shared/log.js';
import { createApp, listen } from './web/server.js';

async function main(): Promise<void> {
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
  const app = createApp({ log });
  const server = await listen(app, env.PORT, env.HOST);
  const { port } = server.address() as AddressInfo;
  log.info({ port, nodeEnv: env.NODE_ENV }, `callbridge listening on http://localhost:${port}`);

  const shutdown = (signal: string) => {
    log.info({ signal }, 'shutting down');
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  console.error('callbridge: failed to start:', err);
  process.exit(1);
});
