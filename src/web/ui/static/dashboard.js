// The owner's dashboard: per flow and per day (in the flow's time zone) from GET /api/dashboard,
// and the follow-up list from GET /api/follow-ups with its Done / Undo buttons. User text only
// ever reaches the page through text nodes (h() in common.js).
import { errorBox, formatDuration, getJson, h, maskNumber, numbersShown, OUTCOMES, setNumbersShown } from './common.js';
import { formatFull, formatWhen } from './zone-time.js';

const form = document.getElementById('range');
const flowsEl = document.getElementById('flows');
const summary = document.getElementById('summary');
const fuRows = document.getElementById('fu-rows');
const fuEmpty = document.getElementById('fu-empty');
const fuCount = document.getElementById('fu-count');
const fuStatus = document.getElementById('fu-status');
const csv = document.getElementById('csv');
const doneBy = document.getElementById('done-by');
const showNumbers = document.getElementById('show-numbers');
const NAME_KEY = 'callbridge.doneBy';

const state = { followUps: 'open', items: [], total: 0 };

function query() {
  const params = new URLSearchParams();
  for (const name of ['from', 'to', 'flow']) {
    const value = form.elements[name].value;
    if (value) params.set(name, value);
  }
  return params;
}

// --- figures -------------------------------------------------------------------------------------

function counted(list, empty) {
  if (!list || list.length === 0) return h('span', { class: 'muted' }, empty);
  return h('ul', { class: 'dash-names' }, list.map((x) => h('li', null, x.name, h('span', { class: 'dash-n' }, ` ${x.calls}`))));
}

function outcomes(figures) {
  const entries = Object.entries(figures.outcomes);
  if (entries.length === 0) return h('span', { class: 'muted' }, '—');
  return h('ul', { class: 'dash-names' }, entries.map(([o, n]) => h('li', null, h('span', { class: `badge outcome-${o}` }, OUTCOMES[o] ?? o), h('span', { class: 'dash-n' }, ` ${n}`))));
}

/** Top intents exist only once analyses have settled: "—" until then. */
function intents(figures) {
  return figures.analysed === 0 ? h('span', { class: 'muted', title: 'No post-call analyses yet' }, '—') : counted(figures.topIntents, '—');
}

function failedCount(figures) {
  return figures.failedFunctions.reduce((sum, f) => sum + f.calls, 0);
}

function stat(label, value, extra) {
  return h('div', { class: `stat${extra?.warn ? ' stat-warn' : ''}`, dataset: { stat: extra?.key ?? label } }, h('dt', null, label), h('dd', null, value));
}

function dayLabel(date) {
  // The date itself, written for people, without moving it to the browser's zone.
  const d = new Date(`${date}T12:00:00Z`);
  return new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' }).format(d);
}

/** The day's calls in /calls (its dates are days of the flow's zone there too), optionally filtered further. */
function callsLink(flow, date, text, extra) {
  if (flow === null) return text;
  const params = new URLSearchParams({ flow, from: date, to: date, ...extra });
  return h('a', { href: `/calls?${params}`, title: 'Open these calls' }, text);
}

function dayRow(flow, day) {
  return h(
    'tr',
    { dataset: { date: day.date }, class: day.calls === 0 ? 'dash-quiet' : undefined },
    h('th', { scope: 'row' }, h('time', { datetime: day.date }, dayLabel(day.date))),
    h('td', { class: 'right tabular', dataset: { col: 'calls' } }, day.calls > 0 ? callsLink(flow, day.date, String(day.calls)) : '0'),
    h('td', { dataset: { col: 'outcomes' } }, outcomes(day)),
    h('td', { class: 'right tabular', dataset: { col: 'open' } }, day.followUps > 0 ? callsLink(flow, day.date, String(day.followUpsOpen), { followUp: 'true' }) : '0'),
    h('td', { class: 'right tabular', dataset: { col: 'median' } }, day.medianDurationMs === null ? '—' : formatDuration(day.medianDurationMs)),
    h('td', { dataset: { col: 'intents' } }, intents(day)),
    h('td', { dataset: { col: 'failed' } }, counted(day.failedFunctions, '0')),
    h('td', { class: 'right tabular', dataset: { col: 'transfers' } }, String(day.transfers)),
  );
}

function flowCard(entry) {
  const t = entry.total;
  return h(
    'section',
    { class: 'card dash-flow', dataset: { flow: entry.flow ?? '' }, 'aria-label': `Flow ${entry.flow ?? '(none)'}` },
    h('div', { class: 'dash-flow-head' }, h('h2', null, entry.flow ?? 'Calls without a flow'), h('span', { class: 'muted dash-zone' }, entry.timeZone)),
    h(
      'dl',
      { class: 'stats dash-totals' },
      stat('Calls', String(t.calls), { key: 'calls' }),
      stat('Follow-ups open', String(t.followUpsOpen), { key: 'open', warn: t.followUpsOpen > 0 }),
      stat('Median length', t.medianDurationMs === null ? '—' : formatDuration(t.medianDurationMs), { key: 'median' }),
      stat('Transfers', String(t.transfers), { key: 'transfers' }),
      stat('Failed functions', String(failedCount(t)), { key: 'failed', warn: failedCount(t) > 0 }),
    ),
    h('div', { class: 'dash-intents' }, h('strong', null, 'Top intents: '), intents(t)),
    h(
      'div',
      { class: 'table-card' },
      h(
        'table',
        { class: 'calls dash-days' },
        h('caption', { class: 'sr-only' }, `Per day in ${entry.timeZone}`),
        h('thead', null, h('tr', null, ['Day', 'Calls', 'Outcomes', 'Follow-ups open', 'Median length', 'Top intents', 'Failed functions', 'Transfers'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, [...entry.days].reverse().map((day) => dayRow(entry.flow, day))),
      ),
    ),
  );
}

function fillFlows(select, known) {
  const current = select.value;
  select.replaceChildren(h('option', { value: '' }, 'All flows'), known.map((f) => h('option', { value: f }, f)));
  select.value = known.includes(current) ? current : '';
}

async function loadFigures() {
  flowsEl.setAttribute('aria-busy', 'true');
  let data;
  try {
    data = await getJson(`/api/dashboard?${query()}`);
  } catch (err) {
    flowsEl.replaceChildren(errorBox(err.message));
    summary.textContent = '';
    return;
  } finally {
    flowsEl.removeAttribute('aria-busy');
  }
  form.elements.from.value = data.from;
  form.elements.to.value = data.to;
  fillFlows(form.elements.flow, data.knownFlows);
  const calls = data.flows.reduce((sum, f) => sum + f.total.calls, 0);
  summary.textContent = `${calls.toLocaleString()} ${calls === 1 ? 'call' : 'calls'} from ${data.from} to ${data.to}`;
  flowsEl.replaceChildren(...(data.flows.length > 0 ? data.flows.map(flowCard) : [h('div', { class: 'card empty' }, 'No calls in this period.')]));
}

// --- follow-ups ----------------------------------------------------------------------------------

function why(item) {
  const reasons = [];
  if (item.analysis?.followUp && item.analysis.followUpReason) reasons.push(h('li', { class: 'fu-analysis' }, item.analysis.followUpReason));
  for (const r of item.followUp?.reasons ?? []) reasons.push(h('li', { class: `fu-flag fu-${item.followUp.level}` }, r));
  return reasons.length > 0 ? h('ul', { class: 'fu-reasons' }, reasons) : h('span', { class: 'muted' }, 'The analysis says a person should follow up.');
}

function actionCell(item) {
  if (item.done) {
    const when = formatWhen(item.done.atMs, item.timeZone);
    return h(
      'td',
      { class: 'fu-action' },
      h('span', { class: 'fu-done', title: formatFull(item.done.atMs, item.timeZone) }, `Done by ${item.done.by}, ${when}`),
      h('button', { type: 'button', class: 'button small ghost', onclick: () => setDone(item, false) }, 'Undo'),
    );
  }
  return h('td', { class: 'fu-action' }, h('button', { type: 'button', class: 'button small primary', onclick: () => setDone(item, true), 'aria-label': `Mark the call ${formatWhen(item.startedAt, item.timeZone)} done` }, 'Done'));
}

function followUpRow(item) {
  const caller = numbersShown() ? item.from : maskNumber(item.from);
  return h(
    'tr',
    { dataset: { sid: item.callSid } },
    h('td', { class: 'when' }, h('a', { href: item.link, title: formatFull(item.startedAt, item.timeZone) }, formatWhen(item.startedAt, item.timeZone))),
    h('td', { class: 'number' }, caller),
    h('td', null, item.flow ? h('span', { class: 'flow' }, item.flow) : '—'),
    h('td', null, why(item)),
    h('td', { class: 'fu-summary' }, item.analysis?.summary || h('span', { class: 'muted' }, '—')),
    actionCell(item),
  );
}

function renderFollowUps() {
  fuRows.replaceChildren(...state.items.map(followUpRow));
  fuEmpty.hidden = state.items.length > 0;
  fuEmpty.textContent = state.followUps === 'open' ? 'Nothing to follow up. 🎉' : 'No follow-ups marked done yet.';
  fuCount.textContent = `${state.total} ${state.followUps}`;
}

async function loadFollowUps() {
  const params = new URLSearchParams({ state: state.followUps });
  const flow = form.elements.flow.value;
  if (flow) params.set('flow', flow);
  csv.href = `/api/follow-ups.csv?${params}`;
  for (const [id, value] of [['show-open', 'open'], ['show-done', 'done']]) document.getElementById(id).setAttribute('aria-pressed', String(state.followUps === value));
  try {
    const data = await getJson(`/api/follow-ups?${params}`);
    state.items = data.items;
    state.total = data.total;
    renderFollowUps();
  } catch (err) {
    fuRows.replaceChildren();
    fuStatus.textContent = `Could not load the follow-ups: ${err.message}`;
  }
}

async function setDone(item, done) {
  const name = doneBy.value.trim();
  let res;
  try {
    res = await fetch(`/api/follow-ups/${encodeURIComponent(item.callSid)}/done`, {
      method: done ? 'POST' : 'DELETE',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: done ? JSON.stringify(name ? { by: name } : {}) : undefined,
    });
  } catch (err) {
    fuStatus.textContent = `Could not save: ${err.message}`;
    return;
  }
  if (res.status === 401) return void location.assign(`/calls/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    fuStatus.textContent = `Could not save: ${body.message ?? `the server answered ${res.status}`}`;
    return;
  }
  fuStatus.textContent = done ? `Marked done by ${body.done.by}.` : 'Open again.';
  await Promise.all([loadFollowUps(), loadFigures()]);
}

// --- wiring --------------------------------------------------------------------------------------

function reload() {
  history.replaceState(null, '', `/dashboard${query().toString() ? `?${query()}` : ''}`);
  return Promise.all([loadFigures(), loadFollowUps()]);
}

const initial = new URLSearchParams(location.search);
for (const name of ['from', 'to']) if (initial.get(name)) form.elements[name].value = initial.get(name);
if (initial.get('flow')) form.elements.flow.replaceChildren(h('option', { value: '' }, 'All flows'), h('option', { value: initial.get('flow'), selected: true }, initial.get('flow')));
form.addEventListener('change', () => void reload());
form.addEventListener('submit', (e) => {
  e.preventDefault();
  void reload();
});
document.getElementById('show-open').addEventListener('click', () => ((state.followUps = 'open'), void loadFollowUps()));
document.getElementById('show-done').addEventListener('click', () => ((state.followUps = 'done'), void loadFollowUps()));
doneBy.value = localStorage.getItem(NAME_KEY) ?? '';
doneBy.addEventListener('change', () => localStorage.setItem(NAME_KEY, doneBy.value.trim()));
showNumbers.checked = numbersShown();
showNumbers.addEventListener('change', () => {
  setNumbersShown(showNumbers.checked);
  renderFollowUps();
});
void reload();
