/**
 * The container files, checked statically (no docker here): Dockerfile, .dockerignore,
 * deploy/compose.yaml, deploy/Caddyfile, deploy/prometheus.yml, deploy/grafana-dashboard.json.
 * They must name only real environment variables (src/config/env.ts), real metric names
 * (src/metrics/metrics.ts), real emulator flags (scripts/emulator.ts) and files that exist, and
 * keep the rules docs/containers.md states (non-root, healthcheck on /readyz, production
 * dependencies only, the same secret and database on both instances, a stop grace period longer
 * than the drain deadline).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { EnvSchema } from '../../src/config/env.js';
import { METRIC_NAMES } from '../../src/metrics/index.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

interface Service {
  build?: { context: string; dockerfile: string; target: string };
  image?: string;
  environment?: Record<string, string>;
  depends_on?: Record<string, unknown> | string[];
  volumes?: string[];
  stop_grace_period?: string;
  ports?: string[];
}
const compose = parse(read('deploy/compose.yaml'), { merge: true }) as { services: Record<string, Service> };
/** The variables callbridge reads: its schema, and what src/main.ts reads itself (process.env['…']). */
const ENV_VARS = new Set([...Object.keys(EnvSchema.shape), ...[...read('src/main.ts').matchAll(/process\.env\['([A-Z_]+)'\]/g)].map((m) => m[1]!)]);

/** Docker's duration (40s, 1m30s) in ms. */
function durationMs(d: string): number {
  let ms = 0;
  for (const [, n, u] of d.matchAll(/(\d+)(ms|s|m|h)/g)) ms += Number(n) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[u as 'ms' | 's' | 'm' | 'h'];
  return ms;
}

/** "${VAR:-default}" → default (what compose uses when VAR is unset). */
const withDefaults = (v: string) => v.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const stages = [...text.matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((m) => m[1]);
  const runtime = text.slice(text.search(/^FROM\s+\S+\s+AS\s+runtime/im));

  it('is multi-stage, and its runtime stage is the last, non-root, with a healthcheck on /readyz', () => {
    assert.deepEqual(stages, ['deps', 'prod', 'emulator', 'runtime']);
    assert.match(runtime, /^USER\s+node\s*$/m, 'runs as the unprivileged node user');
    assert.doesNotMatch(runtime, /^USER\s+(root|0)\b/m);
    assert.match(runtime, /^HEALTHCHECK\b[\s\S]*\/readyz/m);
    assert.match(runtime, /^COPY --from=prod \/app\/node_modules/m, 'production dependencies only');
    assert.match(text, /^FROM deps AS prod\nRUN npm prune --omit=dev$/m);
  });

  it('runs what npm start runs, and tsx (its runner) is a production dependency', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; dependencies: Record<string, string> };
    assert.equal(pkg.scripts['start'], 'tsx src/main.ts');
    assert.ok(pkg.dependencies['tsx'], 'tsx is needed at runtime');
    assert.match(runtime, /^CMD \["node", "--import", "tsx", "src\/main\.ts"\]$/m);
  });

  it('copies only paths that exist and that .dockerignore keeps; its ENV names real variables', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#') && !l.startsWith('!'));
    for (const [, sources] of text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of sources!.split(/\s+/)) {
        assert.ok(existsSync(join(ROOT, src)), `${src} exists`);
        assert.ok(!ignored.includes(src), `${src} is not excluded by .dockerignore`);
      }
    }
    assert.ok(ignored.includes('node_modules') && ignored.includes('.git') && ignored.includes('data'));
    const envBlock = /^ENV ([\s\S]*?)\n(?!\s)/m.exec(runtime)![1]!;
    for (const [, name] of envBlock.matchAll(/([A-Z_]+)=/g)) assert.ok(ENV_VARS.has(name!), `ENV ${name} is a callbridge variable`);
  });
});

describe('deploy/compose.yaml', () => {
  const s = compose.services;
  const bridges = Object.entries(s).filter(([, svc]) => svc.build?.target === 'runtime');

  it('has PostgreSQL, two callbridge instances, a reverse proxy and the emulator', () => {
    assert.deepEqual(bridges.map(([name]) => name).sort(), ['callbridge-a', 'callbridge-b']);
    assert.match(s['postgres']?.image ?? '', /^postgres:/);
    assert.equal(s['emulator']?.build?.target, 'emulator');
    assert.match(s['proxy']?.image ?? '', /^caddy:/);
    for (const svc of Object.values(s)) if (svc.build) assert.ok(existsSync(join(ROOT, 'deploy', svc.build.context, svc.build.dockerfile)), 'the Dockerfile it builds exists');
  });

  it('the instances share the database and the stream-token secret, and differ in INSTANCE_ID', () => {
    const envs = bridges.map(([, svc]) => svc.environment!);
    const [a, b] = envs.map((e) => Object.fromEntries(Object.entries(e).map(([k, v]) => [k, withDefaults(String(v))])));
    assert.match(a!['DATABASE_URL']!, /^postgres:\/\/callbridge:[^@]+@postgres:5432\/callbridge$/);
    assert.equal(a!['DATABASE_URL'], b!['DATABASE_URL']);
    assert.equal(a!['STREAM_TOKEN_SECRET'], b!['STREAM_TOKEN_SECRET']);
    assert.ok(a!['STREAM_TOKEN_SECRET']!.length >= 32);
    assert.notEqual(a!['INSTANCE_ID'], b!['INSTANCE_ID']);
    assert.equal(a!['GEMINI_LIVE_URL'], 'ws://emulator:9090');
    // Every variable validates as callbridge would read it (its schema; empty means unset).
    for (const env of [a!, b!]) {
      for (const name of Object.keys(env)) assert.ok(ENV_VARS.has(name), `${name} is a callbridge variable`);
      const parsed = EnvSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([k, v]) => v !== '' && k in EnvSchema.shape)));
      assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
    }
  });

  it('gives a draining instance longer than its drain deadline, and shares the recordings volume', () => {
    for (const [name, svc] of bridges) {
      const deadline = Number(withDefaults(svc.environment!['SHUTDOWN_DEADLINE_MS']!));
      assert.ok(durationMs(svc.stop_grace_period!) > deadline, `${name}: stop_grace_period ${svc.stop_grace_period} > ${deadline} ms`);
      assert.ok(svc.volumes?.includes('callbridge-data:/data'));
    }
  });

  it('the emulator settings are real emulator flags', () => {
    const flags = read('scripts/emulator.ts');
    for (const name of Object.keys(s['emulator']!.environment ?? {})) {
      const flag = name.replace(/^EMULATOR_/, '').toLowerCase().replace(/_/g, '-');
      assert.match(flags, new RegExp(`^\\s+'?${flag}'?: '`, 'm'), `${name} ⇔ --${flag}`);
    }
  });

  it('the proxy spreads over both instances with /readyz as health check; Prometheus scrapes each', () => {
    const caddy = read('deploy/Caddyfile');
    assert.match(caddy, /reverse_proxy callbridge-a:8080 callbridge-b:8080/);
    assert.match(caddy, /health_uri \/readyz/);
    assert.ok(s['proxy']!.volumes!.some((v) => v.startsWith('./Caddyfile:')));
    const prom = parse(read('deploy/prometheus.yml')) as { scrape_configs: Array<{ metrics_path: string; authorization: { credentials: string }; static_configs: Array<{ targets: string[] }> }> };
    const job = prom.scrape_configs[0]!;
    assert.equal(job.metrics_path, '/metrics');
    assert.deepEqual(job.static_configs[0]!.targets.sort(), ['callbridge-a:8080', 'callbridge-b:8080']);
    assert.equal(job.authorization.credentials, withDefaults(bridges[0]![1].environment!['METRICS_TOKEN']!), 'the scrape token is the instances’ METRICS_TOKEN');
  });
});

describe('deploy/grafana-dashboard.json', () => {
  const dash = JSON.parse(read('deploy/grafana-dashboard.json')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
  const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr));

  it('queries only metrics /metrics exposes, and shows the main ones', () => {
    const known = new Set<string>(METRIC_NAMES);
    const used = new Set<string>();
    for (const expr of exprs) {
      for (const [name] of expr.matchAll(/callbridge_[a-z_]+/g)) {
        const base = name.replace(/_(bucket|sum|count)$/, '');
        assert.ok(known.has(base), `${name} (in ${expr}) is a metric callbridge exposes`);
        used.add(base);
      }
    }
    for (const must of ['callbridge_active_calls', 'callbridge_calls_total', 'callbridge_first_audio_seconds', 'callbridge_turn_latency_seconds', 'callbridge_bridge_latency_seconds', 'callbridge_event_loop_lag_seconds', 'callbridge_gc_pause_seconds', 'callbridge_gemini_closes_total', 'callbridge_breaker_state', 'callbridge_function_duration_seconds', 'callbridge_function_errors_total', 'callbridge_reconnects_total']) {
      assert.ok(used.has(must), `the dashboard shows ${must}`);
    }
  });

  it('histogram quantiles read _bucket series and keep the le label', () => {
    for (const expr of exprs.filter((e) => e.includes('histogram_quantile'))) {
      assert.match(expr, /by \(le[,)]/, expr);
      assert.match(expr, /_bucket\[/, expr);
    }
  });
});
