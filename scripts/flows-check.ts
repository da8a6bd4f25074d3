/**
 * Checks every flow file and function module without starting the server.
 *
 *   npx tsx scripts/flows-check.ts [flows-dir] [--tools <dir>] [--numbers +15550100200,+1555…] [--no-models]
 *
 * The folders default to FLOWS_DIR and TOOLS_DIR (else ./flows and ./tools), like the server.
 * Prints every problem as "file:line field — message" and exits 1, or one line per flow and
 * exits 0. Warnings are printed either way. `${VAR}` references read the current environment.
 *
 * With GEMINI_API_KEY set (and GEMINI_LIVE_URL for another endpoint), it also checks that the
 * endpoint accepts every model the flows use (GEMINI_MODEL overrides their primary model): one
 * short setup per model, accepted models remembered for a day in DATA_DIR/model-check.json
 * (src/health/model-check.ts). A refused model is a problem (exit 1); one that could not be
 * checked (network) is a warning. `--no-models` skips this.
 */
import { join } from 'node:path';
import { checkBusinessConfig, formatProblem, type Flow, type FlowProblem } from '../src/flows/index.js';
import { DEFAULT_FALLBACK_MODELS, DEFAULT_MODEL } from '../src/gemini/index.js';
import { checkModels, describeVerdicts, modelUses, MODEL_CHECK_FILE } from '../src/health/model-check.js';

interface Args {
  flowsDir: string;
  toolsDir: string;
  numbers?: string[];
  models: boolean;
}

/** An environment variable, unless unset or empty. */
const envVar = (name: string): string | undefined => (process.env[name] ? process.env[name] : undefined);

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { flowsDir: envVar('FLOWS_DIR') ?? 'flows', toolsDir: envVar('TOOLS_DIR') ?? 'tools', models: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--tools') args.toolsDir = argv[++i] ?? args.toolsDir;
    else if (a === '--numbers') args.numbers = (argv[++i] ?? '').split(',').map((n) => n.trim()).filter(Boolean);
    else if (a === '--no-models') args.models = false;
    else if (a === '-h' || a === '--help') {
      console.log('usage: flows-check [flows-dir] [--tools <dir>] [--numbers +1555…,+1555…] [--no-models]\n(defaults: FLOWS_DIR, TOOLS_DIR; with GEMINI_API_KEY set the models are checked against the endpoint)');
      process.exit(0);
    } else args.flowsDir = a;
  }
  return args;
}

function summary(flow: Flow): string {
  const route = [flow.default ? 'default' : '', ...flow.numbers].filter(Boolean).join(', ') || 'no route';
  const fns = [...new Set([...flow.functions, ...flow.stages.flatMap((s) => s.functions)])];
  const hours = flow.hours ? `hours ${flow.hours.timeZone}` : 'always open';
  const transfers = Object.keys(flow.transfers);
  return `ok  ${flow.name} (${flow.file}): ${route}; ${flow.stages.length} stage${flow.stages.length === 1 ? '' : 's'}; ` +
    `${fns.length} function${fns.length === 1 ? '' : 's'}; ${hours}; transfers: ${transfers.join(', ') || 'none'}` +
    `; analysis: ${flow.analysis === false ? 'off' : Object.keys(flow.analysis.fields).length > 0 ? Object.keys(flow.analysis.fields).join(', ') : 'on'}` +
    (flow.notify.length > 0 ? `; notifies: ${flow.notify.map((n) => `${new URL(n.webhook).host} (${n.events.join(', ')})`).join(', ')}` : '');
}

const printWarnings = (warnings: readonly FlowProblem[]): void => {
  for (const w of warnings) console.log(`warning: ${formatProblem(w)}`);
};

/** With a key: does the endpoint accept every model? Returns the number of refused models. */
async function checkFlowModels(flows: readonly Flow[]): Promise<number> {
  const apiKey = envVar('GEMINI_API_KEY');
  if (!apiKey) return 0;
  const uses = modelUses(flows, { override: envVar('GEMINI_MODEL'), defaultModel: DEFAULT_MODEL, defaultFallbackModels: DEFAULT_FALLBACK_MODELS });
  const verdicts = await checkModels(uses.keys(), { apiKey, url: envVar('GEMINI_LIVE_URL'), cacheFile: join(envVar('DATA_DIR') ?? 'data', MODEL_CHECK_FILE) });
  for (const v of verdicts.filter((x) => x.status === 'accepted')) console.log(`ok  model ${v.model}: accepted${v.cached ? ' (checked recently)' : ''}`);
  const { errors, warnings } = describeVerdicts(verdicts, uses);
  for (const w of warnings) console.log(`warning: ${w}`);
  for (const e of errors) console.error(e);
  return errors.length;
}

const options = parseArgs(process.argv.slice(2));
const result = await checkBusinessConfig({ flowsDir: options.flowsDir, toolsDir: options.toolsDir, ...(options.numbers ? { numbers: options.numbers } : {}) });
if (!result.ok) {
  for (const p of result.errors) console.error(formatProblem(p));
  printWarnings(result.warnings);
  console.error(`\n${result.errors.length} problem${result.errors.length === 1 ? '' : 's'} found.`);
  process.exit(1);
}
for (const flow of result.flows) console.log(summary(flow));
printWarnings(result.warnings);
const refused = options.models ? await checkFlowModels(result.flows) : 0;
if (refused > 0) {
  console.error(`\n${refused} model${refused === 1 ? '' : 's'} refused.`);
  process.exit(1);
}
