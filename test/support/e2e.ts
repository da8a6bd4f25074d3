/**
 * End-to-end test rig: the real callbridge server (in-process, port 0), the Gemini Live emulator
 * and the caller simulator, all on 127.0.0.1, plus a stand-in for Twilio's REST API. Each rig has
 * its own temp DATA_DIR and flows folder.
 */
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadEnv } from '../../src/config/env.js';
import { silentLogger, createLogger, type Logger } from '../../src/shared/log.js';
import { startCallbridge, type Callbridge, type StartOptions } from '../../src/app.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/index.js';
import { placeCall, FakeTwilioApi, SimulatedCallRegistry, type PlaceCallOptions, type CallResult } from '../../src/simulator/index.js';

/** The import specifier of src/tools for code-function modules written into a rig's tools folder. */
export const TOOLS_MODULE = new URL('../../src/tools/index.ts', import.meta.url).href;
/** zod, resolved from the project (a tools folder in a temp directory has no node_modules). */
export const ZOD_MODULE = import.meta.resolve('zod');

/** A flow that is always open, with the built-ins allowed (tests replace pieces as needed). */
export function testFlow(
  overrides: { name?: string; greeting?: string; model?: string; fallbackModels?: string[]; topLevel?: string; numbers?: string[]; isDefault?: boolean; functions?: string[] } = {},
): string {
  const name = overrides.name ?? 'test-line';
  return [
    `name: ${name}`,
    `default: ${overrides.isDefault ?? true}`,
    `numbers: [${(overrides.numbers ?? []).map((n) => `"${n}"`).join(', ')}]`,
    ...(overrides.model ? [`model: ${overrides.model}`] : []),
    ...(overrides.fallbackModels ? [`fallbackModels: [${overrides.fallbackModels.join(', ')}]`] : []),
    'persona: You are the test line assistant.',
    `greeting: ${JSON.stringify(overrides.greeting ?? 'Hello, test line.')}`,
    'transfers:',
    '  desk: "+15550109999"',
    'recording: true',
    overrides.topLevel ?? '',
    'stages:',
    '  - name: main',
    '    instructions: Help the caller.',
    `    functions: [${['end_call', 'transfer_call', ...(overrides.functions ?? [])].join(', ')}]`,
  ].join('\n');
}

export interface RigOptions {
  flows?: Record<string, string>;
  /** Code-function modules for the rig's tools folder (file name → source). */
  tools?: Record<string, string>;
  emulator?: EmulatorOptions;
  bridge?: Partial<Omit<StartOptions, 'env' | 'log'>>;
  /** Extra environment for callbridge. */
  env?: Record<string, string>;
  /** Sign everything with a Twilio auth token (default true). */
  signed?: boolean;
  log?: Logger | 'stderr';
}

export interface Rig {
  bridge: Callbridge;
  emulator: Emulator;
  api: FakeTwilioApi;
  registry: SimulatedCallRegistry;
  authToken: string | undefined;
  accountSid: string;
  dataDir: string;
  /** The rig's FLOWS_DIR and TOOLS_DIR (hot-reload tests edit them). */
  flowsDir: string;
  toolsDir: string;
  /** Places a simulated call through the real server (signed like Twilio). */
  call(options: Partial<PlaceCallOptions> & Pick<PlaceCallOptions, 'script'>): Promise<CallResult>;
  close(): Promise<void>;
}

export async function startRig(options: RigOptions = {}): Promise<Rig> {
  const root = mkdtempSync(join(tmpdir(), 'cb-e2e-'));
  const dataDir = join(root, 'data');
  const flowsDir = join(root, 'flows');
  const toolsDir = join(root, 'tools');
  mkdirSync(flowsDir);
  mkdirSync(toolsDir);
  for (const [file, text] of Object.entries(options.flows ?? { 'test.yaml': testFlow() })) writeFileSync(join(flowsDir, file), text);
  for (const [file, text] of Object.entries(options.tools ?? {})) writeFileSync(join(toolsDir, file), text);

  const emulator = await startEmulator({ port: 0, host: '127.0.0.1', ttsCacheDir: join(tmpdir(), 'callbridge-test-tts'), ...options.emulator });
  const accountSid = `AC${randomBytes(16).toString('hex')}`;
  const authToken = options.signed === false ? undefined : `tok-${randomBytes(12).toString('hex')}`;
  const registry = new SimulatedCallRegistry();
  const api = await FakeTwilioApi.start({ accountSid, authToken: authToken ?? 'unsigned-token-xx', calls: registry });
  const env = loadEnv({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    GEMINI_LIVE_URL: emulator.url,
    TWILIO_ACCOUNT_SID: accountSid,
    TWILIO_AUTH_TOKEN: authToken ?? '',
    TWILIO_API_BASE_URL: api.url,
    ...options.env,
  });
  // Code functions that keep data (the dental example) read DATA_DIR from the process environment.
  const savedDataDir = process.env['DATA_DIR'];
  process.env['DATA_DIR'] = dataDir;
  const log = options.log === 'stderr' ? createLogger({ level: 'debug', destination: process.stderr }) : (options.log ?? silentLogger());
  const bridge = await startCallbridge({ env, log, flowsDir, toolsDir, ...options.bridge });
  return {
    bridge,
    emulator,
    api,
    registry,
    authToken,
    accountSid,
    dataDir,
    flowsDir,
    toolsDir,
    call: (o) =>
      placeCall({
        serverUrl: bridge.url,
        publicBaseUrl: bridge.publicBaseUrl,
        from: '+15557654321',
        to: '+15550100100',
        accountSid,
        ...(authToken ? { authToken } : {}),
        registry,
        timeScale: 1,
        ...o,
      }),
    async close() {
      await bridge.shutdown(2000);
      await emulator.close();
      await api.close();
      if (savedDataDir === undefined) delete process.env['DATA_DIR'];
      else process.env['DATA_DIR'] = savedDataDir;
      rmSync(root, { recursive: true, force: true });
    },
  };
}
