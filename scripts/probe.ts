/**
 * npm run probe -- --models gemini-3.8-live,gemini-2.5-flash-native-audio-preview-12-2025 --turns 20 [--json]
 *
 * How each model behaves from this account before a business chooses one: real Live sessions,
 * short spoken turns, one table row per model (src/health/probe-cli.ts; docs/probe.md).
 * Offline: --emulator [--fault-profile field-report-1011].
 */
import { runProbeCli } from '../src/health/probe-cli.js';

const code = await runProbeCli(process.argv.slice(2), {
  env: process.env,
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
});
process.exitCode = code;
