// Summarises a .heapprofile written by bench/load/heap-sampler.mjs: the bytes sampled per
// allocation site (the allocating function, and the nearest function of src/ on its stack), with
// start-up and tooling (module loading, tsx, the inspector) counted apart.
// Run: node bench/load/heap-summary.mjs bench/results/heap/bridge-100.<pid>.heapprofile [rows]
import { readFileSync } from 'node:fs';

const [file, rowsArg] = process.argv.slice(2);
if (!file) throw new Error('usage: node bench/load/heap-summary.mjs <file.heapprofile> [rows]');
const profile = JSON.parse(readFileSync(file, 'utf8'));
const STARTUP = /modules\/(esm|cjs)|bootstrap|tsx\/dist|inspector|heap-sampler|loop-monitor|source_map/;
const short = (url) => url.replace(/^file:\/\//, '').replace(/^.*?\/(src|node_modules|bench|test)\//, '$1/');
const sites = new Map();
let total = 0;
let startup = 0;
function walk(node, stack) {
  const f = node.callFrame;
  const frames = [...stack, `${f.functionName || '(anonymous)'} ${short(f.url)}`];
  if (node.selfSize > 0) {
    total += node.selfSize;
    if (frames.some((x) => STARTUP.test(x))) startup += node.selfSize;
    else {
      const own = [...frames].reverse().find((x) => / src\//.test(x)) ?? '';
      const key = `${frames.at(-1)}  <=  ${own}`;
      sites.set(key, (sites.get(key) ?? 0) + node.selfSize);
    }
  }
  for (const child of node.children) walk(child, frames);
}
walk(profile.head, []);
const mb = (b) => (b / 1e6).toFixed(2).padStart(7);
console.log(`sampled ${mb(total)} MB outlived the scavenges; start-up and tooling ${mb(startup)} MB; the rest by site:`);
for (const [site, bytes] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, Number(rowsArg ?? 30))) console.log(`${mb(bytes)} MB  ${site}`);
