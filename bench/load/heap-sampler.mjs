// Preloaded into callbridge by `npm run bench:load -- --heap-sample` (node --import): V8's sampling
// heap profiler, keeping only allocations that outlived the scavenges (promoted to the old
// generation, then freed by a Mark-Compact or still alive at the end). That is the garbage behind
// full collections, with the stack that allocated it. Written when the process gets SIGTERM (the
// benchmark's stop) to $HEAP_SAMPLE_OUT.<pid>.heapprofile: open it in Chrome DevTools (Memory →
// Load) or summarise it with `node bench/load/heap-summary.mjs <file>`. Method: bench/README.md.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';

const out = process.env.HEAP_SAMPLE_OUT;
if (out) {
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: false,
  }, (err) => err && console.error('heap-sampler:', err.message));
  const dump = () =>
    session.post('HeapProfiler.getSamplingProfile', (err, result) => {
      if (err) console.error('heap-sampler:', err.message);
      else writeFileSync(`${out}.${process.pid}.heapprofile`, JSON.stringify(result.profile));
    });
  process.prependOnceListener('SIGTERM', dump);
}
