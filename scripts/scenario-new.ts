/**
 * npm run scenario:new -- <flow> [--force] [--out path]
 *
 * Writes a starter emulator scenario for a flow of FLOWS_DIR (functions from TOOLS_DIR) to
 * SCENARIOS_DIR/<flow>.yaml (or the flow's own `scenario:` path, or --out): its stages and
 * functions with example arguments, commented. Refuses to overwrite an existing file without
 * --force. The format is docs/scenarios.md.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { checkBusinessConfig, FlowSession, formatProblem } from '../src/flows/index.js';
import { flowScenarioFile, parseScenario } from '../src/emulator/index.js';
import { starterScenario } from '../src/emulator/starter.js';

export interface ScenarioNewOptions {
  flow: string;
  flowsDir: string;
  toolsDir: string;
  scenariosDir: string;
  out?: string;
  force?: boolean;
}

/** Writes the starter scenario; resolves with the path written, or rejects with a message for the user. */
export async function writeStarterScenario(o: ScenarioNewOptions): Promise<string> {
  const result = await checkBusinessConfig({ flowsDir: o.flowsDir, toolsDir: o.toolsDir, env: process.env });
  if (!result.ok) {
    throw new Error(`the flows have problems; fix them first (npm run flows:check):\n${result.errors.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
  }
  const flow = result.router.byName(o.flow);
  if (!flow) throw new Error(`no flow named "${o.flow}" in ${o.flowsDir}; flows: ${result.flows.map((f) => f.name).join(', ')}`);
  const path = resolve(o.out ?? flowScenarioFile(flow) ?? resolve(o.scenariosDir, `${flow.name}.yaml`));
  if (existsSync(path) && !o.force) throw new Error(`${path} exists; pass --force to overwrite it`);
  const text = starterScenario(flow, new FlowSession(flow, result.registry).declarations());
  parseScenario(text, path); // what is written must validate
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname);
if (isMain) {
  const args = process.argv.slice(2);
  const value = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    return i === -1 ? undefined : args[i + 1];
  };
  const flow = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--out');
  if (!flow) {
    console.error('usage: npm run scenario:new -- <flow> [--force] [--out path]');
    process.exit(2);
  }
  try {
    const path = await writeStarterScenario({
      flow,
      flowsDir: resolve(process.env['FLOWS_DIR'] || 'flows'),
      toolsDir: resolve(process.env['TOOLS_DIR'] || 'tools'),
      scenariosDir: resolve(process.env['SCENARIOS_DIR'] || 'scenarios'),
      ...(value('out') ? { out: value('out')! } : {}),
      force: args.includes('--force'),
    });
    console.log(`wrote ${path}\nEdit its lines, then call the flow without a Gemini key (npm start, /phone, or npm run demo -- --flow ${flow}).`);
  } catch (err) {
    console.error(`scenario:new: ${(err as Error).message}`);
    process.exit(1);
  }
}
