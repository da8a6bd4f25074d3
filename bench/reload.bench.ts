/**
 * Hot reload of a flows folder (issue 15, item 4; target: under 200 ms for 20 flows): a folder of
 * 20 flows (copies of the shipped dental flow, ~200 lines each, each with its own number) and
 * the shipped tools folder (4 code functions), reloaded through FlowCatalog.reload():
 *   unchanged: nothing edited (every file read, hashed, parsed and checked again);
 *   one edit:  one flow's greeting changed before each reload (what saving a file costs).
 * Also the longest synchronous stretch of a reload (reading, parsing and checking the flows runs
 * without yielding: calls in progress wait that long for the event loop), from the event loop's
 * own delay histogram.
 *
 * Run: npm run bench:reload [-- --runs 50 --flows 20]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { FlowCatalog } from '../src/flows/index.js';
import { silentLogger } from '../src/shared/log.js';
import { percentile } from '../src/transcripts/format.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const RUNS = arg('--runs', 50);
const FLOWS = arg('--flows', 20);

const dental = readFileSync(resolve('flows/dental-receptionist.yaml'), 'utf8');
const root = mkdtempSync(join(tmpdir(), 'cb-bench-reload-'));
const flowText = (i: number, greeting = 'Thank you for calling.') =>
  dental
    .replace(/^name: .*$/m, `name: dental-${i}`)
    .replace(/^numbers: \[\]$/m, `numbers: ["+1555020${String(i).padStart(4, '0')}"]`)
    .replace(/^default: true$/m, `default: ${i === 0}`)
    .replace(/^greeting: .*$/m, `greeting: ${greeting}`);
for (let i = 0; i < FLOWS; i++) writeFileSync(join(root, `dental-${i}.yaml`), flowText(i));

const catalog = await FlowCatalog.open({ flowsDir: root, toolsDir: resolve('tools'), log: silentLogger(), debounceMs: 10 });
const loopDelay = monitorEventLoopDelay({ resolution: 1 });

async function measure(edit: ((run: number) => void) | undefined): Promise<{ total: number[]; blockedMaxMs: number }> {
  const total: number[] = [];
  loopDelay.reset();
  loopDelay.enable();
  for (let run = 0; run < RUNS; run++) {
    edit?.(run);
    const t0 = performance.now();
    const r = await catalog.reload('bench');
    total.push(performance.now() - t0);
    if (!r.applied) throw new Error(`reload refused: ${JSON.stringify(r.problems.slice(0, 3))}`);
    if (edit && r.changed.updated.length !== 1) throw new Error(`expected one updated flow, got ${JSON.stringify(r.changed)}`);
    await new Promise((ok) => setTimeout(ok, 5)); // let the delay monitor sample between runs
  }
  loopDelay.disable();
  return { total, blockedMaxMs: loopDelay.max / 1e6 };
}

function line(label: string, m: { total: number[]; blockedMaxMs: number }): string {
  const p = (q: number) => percentile(m.total, q)!.toFixed(1);
  return `${label.padEnd(10)} p50 ${p(50).padStart(6)} ms   p99 ${p(99).padStart(6)} ms   max ${Math.max(...m.total).toFixed(1).padStart(6)} ms   longest event-loop stall ${m.blockedMaxMs.toFixed(1)} ms`;
}

await measure(undefined); // warm-up: JIT, module cache
const unchanged = await measure(undefined);
const EDITED = Math.min(7, FLOWS - 1); // the flow edited before each reload (one that exists however few there are)
const edited = await measure((run) => writeFileSync(join(root, `dental-${EDITED}.yaml`), flowText(EDITED, `Thank you for calling, edit ${run}.`)));

console.log(`reload of ${FLOWS} flows (${Math.round(dental.length / 1024)} KB each) + ${catalog.current.registry.codeTools().length} code functions, ${RUNS} runs, ${cpus()[0]?.model ?? 'cpu'}`);
console.log(line('unchanged', unchanged));
console.log(line('one edit', edited));
console.log(`target: under 200 ms → ${percentile(edited.total, 99)! < 200 ? 'met' : 'NOT met'} (p99 of one edit)`);
rmSync(root, { recursive: true, force: true });
