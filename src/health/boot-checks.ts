/**
 * Checks at boot that catch, before the first caller does, what would make calls fail:
 *  - flows with transfer targets on a server that cannot transfer phone calls (no Twilio REST
 *    credentials): a warning naming the flows (the browser test phone simulates transfers);
 *  - with a Gemini key set, every model the flows use is accepted by the endpoint
 *    (./model-check.ts, cached in DATA_DIR): a refused model stops the boot with CB_FLOW_INVALID
 *    naming the flow and the model; a model that could not be checked (network) is a warning.
 */
import { join } from 'node:path';
import { CallbridgeError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { checkModels, describeVerdicts, modelUses, MODEL_CHECK_FILE, type ModelCheckOptions } from './model-check.js';

interface FlowFacts {
  name: string;
  model?: string | undefined;
  fallbackModels: readonly string[];
  /** `cascade`: the flow runs on text models, not checked against the Live endpoint. */
  pipeline?: string;
  transfers: Readonly<Record<string, string>>;
}

/** The flows whose transfers cannot happen on phone calls: they have targets and there are no REST credentials. */
export function flowsThatCannotTransfer(flows: readonly FlowFacts[], env: { TWILIO_ACCOUNT_SID?: string | undefined; TWILIO_AUTH_TOKEN?: string | undefined }): string[] {
  if (env.TWILIO_ACCOUNT_SID && env.TWILIO_AUTH_TOKEN) return [];
  return flows.filter((f) => Object.keys(f.transfers).length > 0).map((f) => f.name);
}

export interface BootCheckOptions {
  flows: readonly FlowFacts[];
  env: { TWILIO_ACCOUNT_SID?: string | undefined; TWILIO_AUTH_TOKEN?: string | undefined; GEMINI_API_KEY?: string | undefined; GEMINI_LIVE_URL?: string | undefined; GEMINI_MODEL?: string | undefined };
  dataDir: string;
  log: Logger;
  defaultModel: string;
  defaultFallbackModels: readonly string[];
  /** Test knobs for the model check. */
  modelCheck?: Partial<Pick<ModelCheckOptions, 'timeoutMs' | 'ttlMs' | 'now' | 'connect'>>;
}

export async function runBootChecks(o: BootCheckOptions): Promise<void> {
  const cannot = flowsThatCannotTransfer(o.flows, o.env);
  if (cannot.length > 0) {
    o.log.warn(
      { flows: cannot },
      `TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN not both set: phone calls to ${cannot.join(', ')} cannot be transferred (their transfers will fail and the calls are flagged red); browser test calls simulate transfers`,
    );
  }
  const refused = await refusedModels(o);
  if (refused.length > 0) throw new CallbridgeError('CB_FLOW_INVALID', `the Gemini endpoint refuses models the flows use:\n${refused.map((e) => `  ${e}`).join('\n')}`);
}

/**
 * With GEMINI_API_KEY: the models the flows use that the endpoint refuses, one sentence each naming
 * the flows (one short setup per model, cached; see model-check.ts). Without a key: none. Network
 * trouble is a logged warning, not a refusal. Boot and every hot reload ask this.
 */
export async function refusedModels(o: Omit<BootCheckOptions, 'flows'> & { flows: readonly FlowFacts[] }): Promise<string[]> {
  if (!o.env.GEMINI_API_KEY) return [];
  const uses = modelUses(o.flows, { override: o.env.GEMINI_MODEL, defaultModel: o.defaultModel, defaultFallbackModels: o.defaultFallbackModels });
  const verdicts = await checkModels(uses.keys(), {
    apiKey: o.env.GEMINI_API_KEY,
    url: o.env.GEMINI_LIVE_URL,
    log: o.log.child({ component: 'model-check' }),
    cacheFile: join(o.dataDir, MODEL_CHECK_FILE),
    timeoutMs: 5000,
    ...o.modelCheck,
  });
  const { errors, warnings } = describeVerdicts(verdicts, uses);
  for (const w of warnings) o.log.warn(w);
  if (errors.length === 0) o.log.info({ models: verdicts.map((v) => `${v.model}${v.cached ? ' (cached)' : ''}`) }, 'Gemini accepts every model the flows use');
  return errors;
}
