// The flows page: reads GET /api/flows and draws every flow (status, problems, numbers, hours,
// the stage diagram as SVG); "Reload now" posts /api/flows/reload. User text reaches the page
// only through text nodes (h() and textContent), never innerHTML.
import { h, getJson } from './common.js';
import { formatFull } from './zone-time.js';

const SVG = 'http://www.w3.org/2000/svg';
const CHAR_PX = 6.5;

function s(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs ?? {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** The stage diagram laid out by the server (src/flows/diagram.ts), drawn as SVG. */
export function drawDiagram(d, flowName) {
  const svg = s('svg', { viewBox: `0 0 ${d.width} ${d.height}`, width: d.width, height: d.height, class: 'diagram', role: 'img' });
  svg.append(s('title', {}, `Stages of ${flowName}`));
  const markerId = `arrow-${flowName}`;
  const defs = s('defs');
  const marker = s('marker', { id: markerId, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  marker.append(s('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'diagram-arrowhead' }));
  defs.append(marker);
  svg.append(defs);
  d.notes.forEach((note, i) => svg.append(s('text', { x: 16, y: 16 + 12 + i * 16, class: 'diagram-note' }, note)));
  for (const n of d.nodes) {
    const g = s('g', { class: `diagram-stage${n.start ? ' start' : ''}` });
    g.append(s('rect', { x: n.x, y: n.y, width: n.width, height: n.height, rx: 8 }));
    g.append(s('text', { x: n.x + 10, y: n.y + 17, class: 'diagram-title' }, n.start ? `▶ ${n.stage}` : n.stage));
    n.lines.forEach((line, i) => {
      const t = s('text', { x: n.x + 10, y: n.y + 24 + 13 + i * 16, class: `diagram-line ${line.kind}` }, line.text);
      if (line.full) t.append(s('title', {}, line.full));
      g.append(t);
    });
    svg.append(g);
  }
  for (const e of d.edges) {
    const g = s('g', { class: `diagram-edge ${e.kind}` });
    g.append(s('polyline', { points: e.points.map((p) => p.join(',')).join(' '), 'marker-end': `url(#${markerId})` }));
    g.append(s('rect', { x: e.labelAt[0] - 2, y: e.labelAt[1] - 10, width: e.label.length * CHAR_PX + 4, height: 13, class: 'diagram-label-bg' }));
    g.append(s('text', { x: e.labelAt[0], y: e.labelAt[1], class: 'diagram-label' }, e.label));
    g.append(s('title', {}, `${e.from} → ${e.to}: ${e.label}`));
    svg.append(g);
  }
  return svg;
}

function problemList(problems, cls) {
  if (problems.length === 0) return null;
  return h('ul', { class: `problems ${cls}` }, problems.map((p) => h('li', {}, h('code', {}, p.where), p.field ? ` ${p.field}` : '', ' — ', p.message)));
}

/** `nowMs`: the business clock (CALLBRIDGE_NOW when set), shown in the flow's own time zone. */
function hoursBlock(hours, nowMs) {
  if (hours.always) return h('p', {}, h('span', { class: 'badge flow-open' }, 'Open'), ' No opening hours: always answers.');
  const state = hours.openNow
    ? h('span', { class: 'badge flow-open' }, 'Open now')
    : h('span', { class: 'badge flow-closed' }, 'Closed now');
  const next = hours.nextOpening ? ` Opens ${hours.nextOpening.weekday} ${hours.nextOpening.date} at ${hours.nextOpening.time}.` : '';
  const rows = Object.entries(hours.weekly).map(([day, text]) => h('tr', {}, h('th', { scope: 'row' }, day), h('td', {}, text)));
  return h('div', {},
    h('p', {}, state, ` ${hours.timeZone}: ${formatFull(nowMs, hours.timeZone)}.${next}`),
    h('table', { class: 'flow-hours' }, h('tbody', {}, rows)),
    hours.closedDates.length > 0 ? h('p', { class: 'muted' }, `Closed on ${hours.closedDates.join(', ')}.`) : null,
    h('p', { class: 'muted' }, `When closed: “${hours.outsideHours.say}”`),
  );
}

function fact(label, value) {
  return h('div', { class: 'flow-fact' }, h('dt', {}, label), h('dd', {}, value));
}

function flowCard(f, nowMs) {
  const status = f.status === 'ok'
    ? h('span', { class: 'badge flow-ok' }, 'Valid')
    : h('span', { class: 'badge flow-invalid' }, 'File has problems: the last good version serves');
  const numbers = f.numbers.length > 0 ? f.numbers.join(', ') : '—';
  return h('section', { class: 'card flow-card', id: `flow-${f.name}`, dataset: { flow: f.name, status: f.status } },
    h('div', { class: 'flow-head' },
      h('h2', {}, f.name),
      status,
      f.default ? h('span', { class: 'badge flow-default' }, 'Default') : null,
      h('code', { class: 'flow-version', title: 'Version: content hash of the flow file' }, f.version),
      h('a', { class: 'button primary small flow-try', href: f.tryUrl }, 'Try it'),
    ),
    f.description ? h('p', { class: 'muted' }, f.description) : null,
    problemList(f.problems, 'error'),
    problemList(f.warnings, 'warning'),
    h('dl', { class: 'flow-facts' },
      fact('File', h('code', {}, f.file)),
      fact('Numbers', f.default ? `${numbers} (and every number no other flow lists)` : numbers),
      fact('Transfers', f.transfers.length > 0 ? f.transfers.map((t) => `${t.name} ${t.number}`).join(', ') : '—'),
      fact('Functions', f.functions.length > 0 ? f.functions.join(', ') : '—'),
      fact('Voice', [f.voice ?? 'default', f.language, f.model].filter(Boolean).join(' · ')),
      fact('Hours', hoursBlock(f.hours, nowMs)),
    ),
    h('div', { class: 'diagram-wrap' }, drawDiagram(f.diagram, f.name)),
  );
}

function render(report) {
  const invalid = report.flows.filter((f) => f.status !== 'ok').length + report.otherFiles.length;
  document.getElementById('summary').textContent =
    `${report.flows.length} flow${report.flows.length === 1 ? '' : 's'} serving` +
    (invalid > 0 ? ` · ${invalid} file${invalid === 1 ? '' : 's'} with problems` : ' · all files valid') +
    ` · business clock ${formatFull(Date.parse(report.now), 'UTC')} (each flow's hours show it in the flow's zone)`;
  document.getElementById('warnings').replaceChildren(...report.warnings.map((w) => h('p', { class: 'flows-warning', role: 'note' }, w)));
  document.getElementById('other-files').replaceChildren(...report.otherFiles.map((f) =>
    h('section', { class: 'card flow-card', dataset: { file: f.file, status: 'invalid' } },
      h('div', { class: 'flow-head' }, h('h2', {}, h('code', {}, f.file)), h('span', { class: 'badge flow-invalid' }, 'Not serving')),
      problemList(f.problems, 'error'))));
  document.getElementById('flows').replaceChildren(...report.flows.map((f) => flowCard(f, Date.parse(report.now))));
}

async function refresh() {
  try {
    render(await getJson('/api/flows'));
  } catch (err) {
    document.getElementById('summary').textContent = `Could not load the flows: ${err.message}`;
  }
}

async function reloadNow() {
  const button = document.getElementById('reload');
  const out = document.getElementById('reload-result');
  button.disabled = true;
  try {
    const res = await fetch('/api/flows/reload', { method: 'POST', credentials: 'same-origin', headers: { Accept: 'application/json' } });
    const body = await res.json().catch(() => ({}));
    out.hidden = false;
    out.className = `flows-result ${body.applied ? 'ok' : 'refused'}`;
    out.replaceChildren(h('strong', {}, body.message ?? `The server answered ${res.status}`), problemList(body.problems ?? [], 'error'));
    await refresh();
  } finally {
    button.disabled = false;
  }
}

document.getElementById('reload').addEventListener('click', () => void reloadNow());
void refresh();
// Pick up edits saved in the meantime (hot reload happens on the server by itself).
setInterval(() => {
  if (document.visibilityState === 'visible') void refresh();
}, 5000);
