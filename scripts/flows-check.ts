/**
 * Checks every flow file and function module without starting the server.
 *
 *   npx tsx scripts/flows-check.ts [flows-dir] [--tools <dir>] [--numbers +15550100200,+1555…]
 *
 * Prints every problem as "file:line field — message" and exits 1, or one line per flow and
 * exits 0. Warnings are printed either way. `${VAR}` references read the current environment.
 */
import { checkBusinessConfig, formatProblem, type Flow, type FlowProblem } from '../src/flows/index.js';

function parseArgs(argv: readonly string[]): { flowsDir: string; toolsDir: string; numbers?: string[] } {
  let flowsDir = 'flows';
  let toolsDir = 'tools';
  let numbers: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--tools') toolsDir = argv[++i] ?? toolsDir;
    else if (a === '--numbers') numbers = (argv[++i] ?? '').split(',').map((n) => n.trim()).filter(Boolean);
    else if (a === '-h' || a === '--help') {
      console.log('usage: flows-check [flows-dir] [--tools <dir>] [--numbers +1555…,+1555…]');
      process.exit(0);
    } else flowsDir = a;
  }
  return numbers ? { flowsDir, toolsDir, numbers } : { flowsDir, toolsDir };
}

function summary(flow: Flow): string {
  const route = [flow.default ? 'default' : '', ...flow.numbers].filter(Boolean).join(', ') || 'no route';
  const fns = [...new Set([...flow.functions, ...flow.stages.flatMap((s) => s.functions)])];
  const hours = flow.hours ? `hours ${flow.hours.timeZone}` : 'always open';
  const transfers = Object.keys(flow.transfers);
  return `ok  ${flow.name} (${flow.file}): ${route}; ${flow.stages.length} stage${flow.stages.length === 1 ? '' : 's'}; ` +
    `${fns.length} function${fns.length === 1 ? '' : 's'}; ${hours}; transfers: ${transfers.join(', ') || 'none'}`;
}

const printWarnings = (warnings: readonly FlowProblem[]): void => {
  for (const w of warnings) console.log(`warning: ${formatProblem(w)}`);
};

const options = parseArgs(process.argv.slice(2));
const result = await checkBusinessConfig(options);
if (!result.ok) {
  for (const p of result.errors) console.error(formatProblem(p));
  printWarnings(result.warnings);
  console.error(`\n${result.errors.length} problem${result.errors.length === 1 ? '' : 's'} found.`);
  process.exit(1);
}
for (const flow of result.flows) console.log(summary(flow));
printWarnings(result.warnings);
