// The list of calls: calls in progress at the top (live, from /api/calls/live), filters mirrored
// in the address bar (so a view can be bookmarked or shared), full-text search as you type, paging.
import {
  channelTag, CHANNELS, errorBox, FOLLOW_UPS, followUpBadge, formatClock, formatFull, formatWhen, getJson, h, highlighted,
  maskNumber, numbersShown, outcomeBadge, OUTCOMES, setNumbersShown,
} from './common.js';

const PAGE_SIZE = 25;
const form = document.getElementById('filters');
const rows = document.getElementById('rows');
const empty = document.getElementById('empty');
const summary = document.getElementById('summary');
const range = document.getElementById('range');
const prev = document.getElementById('prev');
const next = document.getElementById('next');
const flowSelect = document.getElementById('flow');
const outcomeSelect = document.getElementById('outcome');
const showNumbers = document.getElementById('show-numbers');
const FILTERS = ['q', 'from', 'to', 'flow', 'outcome', 'followUp', 'channel'];

for (const [value, label] of Object.entries(OUTCOMES)) outcomeSelect.append(h('option', { value }, label));
for (const [value, label] of Object.entries(FOLLOW_UPS)) document.getElementById('followUp').append(h('option', { value }, label));
// The rules' flag or the post-call analysis's verdict (GET /api/calls?followUp=true), first in the list.
document.getElementById('followUp').options.add(h('option', { value: 'true' }, 'Needs follow-up (rules or analysis)'), 1);
/** Analysis field filters (`field.<name>=<value>`), from links on the call page; shown as chips. */
const fieldFilters = new Map([...new URLSearchParams(location.search)].filter(([k]) => k.startsWith('field.')));
for (const [value, label] of Object.entries(CHANNELS)) document.getElementById('channel').append(h('option', { value }, label));

let offset = 0;
let lastData = { calls: [], total: 0 };
let request = 0;

function filtersFromUrl() {
  const params = new URLSearchParams(location.search);
  for (const name of FILTERS) {
    const el = form.elements.namedItem(name);
    const value = params.get(name) ?? '';
    if (name === 'flow' && value && ![...flowSelect.options].some((o) => o.value === value)) {
      flowSelect.append(h('option', { value }, value));
    }
    el.value = value;
  }
  offset = Math.max(0, Number(params.get('offset')) || 0);
}

function pageParams() {
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = form.elements.namedItem(name).value.trim();
    if (value) params.set(name, value);
  }
  for (const [name, value] of fieldFilters) params.set(name, value);
  if (offset > 0) params.set('offset', String(offset));
  return params;
}

/** Removable chips for the analysis field filters, before the summary line. */
function fieldChips() {
  document.getElementById('field-chips')?.remove();
  if (fieldFilters.size === 0) return;
  const chips = [...fieldFilters].map(([name, value]) =>
    h('button', { type: 'button', class: 'button ghost small', title: 'Remove this filter', onclick: () => { fieldFilters.delete(name); offset = 0; load(); } }, `${name.slice(6)} = ${value} ×`),
  );
  summary.before(h('p', { id: 'field-chips', class: 'field-chips' }, 'Analysis fields: ', chips));
}

/** Page URL params → API params (date inputs are the business's days: the API reads them in the flow's time zone). */
function apiParams(page) {
  const params = new URLSearchParams(page);
  params.set('limit', String(PAGE_SIZE));
  return params;
}

async function load() {
  const page = pageParams();
  const qs = page.toString();
  const url = qs ? `/calls?${qs}` : '/calls';
  history.replaceState(null, '', url);
  sessionStorage.setItem('callbridge.lastList', url);
  const mine = ++request;
  rows.parentElement.setAttribute('aria-busy', 'true');
  let data;
  try {
    data = await getJson(`/api/calls?${apiParams(page)}`);
  } catch (err) {
    if (mine !== request) return;
    rows.replaceChildren();
    empty.hidden = false;
    empty.replaceChildren(errorBox(err.message));
    summary.textContent = '';
    return;
  } finally {
    rows.parentElement.removeAttribute('aria-busy');
  }
  if (mine !== request) return; // a newer request is on its way
  updateFlows(data.flows);
  lastData = data;
  fieldChips();
  render(data);
}

function updateFlows(flows) {
  const current = flowSelect.value;
  const known = new Set([...flowSelect.options].map((o) => o.value));
  for (const flow of flows) if (!known.has(flow)) flowSelect.append(h('option', { value: flow }, flow));
  flowSelect.value = current;
}

function callerCell(call) {
  return numbersShown() ? call.from : maskNumber(call.from);
}

function conversationCell(call) {
  const a = call.analysis;
  if (!call.match && a?.status === 'ok') {
    return h('span', { class: 'snippet', title: a.summary }, a.intent ? h('span', { class: 'who' }, `${a.intent}: `) : null, a.summary);
  }
  if (call.match) {
    const who = call.match.kind === 'bot_utterance' ? 'Bot' : call.match.kind === 'caller_utterance' ? 'Caller' : 'Note';
    return h('span', { class: 'snippet' }, h('span', { class: 'who' }, `${who}: `), highlighted(call.match.snippet));
  }
  if (call.preview) return h('span', { class: 'snippet' }, `“${call.preview}”`);
  return h('span', { class: 'muted' }, 'Nothing said');
}

function render(data) {
  const filtered = [...pageParams().keys()].some((k) => k !== 'offset');
  const q = form.elements.namedItem('q').value.trim();
  summary.textContent =
    data.total === 0
      ? filtered ? 'No calls match these filters.' : 'No calls yet.'
      : `${data.total.toLocaleString()} ${data.total === 1 ? 'call' : 'calls'}${q ? ` mentioning “${q}”` : ''}${filtered && !q ? ' match these filters' : ''}`;

  rows.replaceChildren(
    ...data.calls.map((call) => {
      const href = `/calls/${encodeURIComponent(call.callSid)}`;
      const tr = h(
        'tr',
        { class: 'row-link', dataset: { href } },
        h('td', { class: 'when' }, h('a', { href, title: formatFull(call.startedAt, call.timeZone) }, formatWhen(call.startedAt, call.timeZone))),
        h('td', { class: 'number' }, callerCell(call)),
        h('td', null, call.flow ? h('span', { class: 'flow' }, call.flow) : h('span', { class: 'muted' }, '—'), channelTag(call.channel)),
        h('td', { class: 'right tabular' }, formatClock(call.durationMs)),
        h(
          'td',
          null,
          outcomeBadge(call.outcome),
          followUpBadge(call.followUp),
          !call.followUp && call.analysis?.followUp ? h('span', { class: 'badge follow-up follow-up-amber', title: `The analysis says: ${call.analysis.followUpReason ?? 'a person should follow up'}` }, 'Follow up') : null,
          call.hasRecording ? h('span', { class: 'rec', title: 'This call has a recording' }, 'REC') : null,
          call.followUp ? h('span', { class: 'fu-reason' }, call.followUp.reasons[0]) : call.analysis?.followUp && call.analysis.followUpReason ? h('span', { class: 'fu-reason' }, call.analysis.followUpReason) : null,
        ),
        h('td', { class: 'conversation' }, conversationCell(call)),
      );
      return tr;
    }),
  );
  empty.hidden = data.calls.length > 0;
  if (data.calls.length === 0) {
    empty.replaceChildren(
      h('p', null, filtered ? 'No calls match these filters.' : 'No calls yet. Calls appear here as soon as they start.'),
      filtered ? h('button', { type: 'button', class: 'button', onclick: () => form.reset() }, 'Clear the filters') : null,
    );
  }
  const first = data.total === 0 ? 0 : offset + 1;
  const last = offset + data.calls.length;
  range.textContent = data.total > 0 ? `${first}–${last} of ${data.total.toLocaleString()}` : '';
  prev.disabled = offset === 0;
  next.disabled = last >= data.total;
}

let debounce;
form.addEventListener('input', (event) => {
  clearTimeout(debounce);
  offset = 0;
  debounce = setTimeout(load, event.target.name === 'q' ? 250 : 0);
});
form.addEventListener('submit', (event) => {
  event.preventDefault();
  clearTimeout(debounce);
  offset = 0;
  load();
});
form.addEventListener('reset', () => {
  setTimeout(() => {
    fieldFilters.clear();
    offset = 0;
    load();
  });
});
prev.addEventListener('click', () => {
  offset = Math.max(0, offset - PAGE_SIZE);
  load();
});
next.addEventListener('click', () => {
  offset += PAGE_SIZE;
  load();
});
rows.addEventListener('click', (event) => {
  const tr = event.target.closest('tr.row-link');
  if (!tr || event.target.closest('a') || getSelection().toString()) return;
  location.assign(tr.dataset.href);
});
showNumbers.checked = numbersShown();
showNumbers.addEventListener('change', () => {
  setNumbersShown(showNumbers.checked);
  render(lastData);
});

// --- calls in progress ------------------------------------------------------------------------
const liveSection = document.getElementById('live');
const liveList = document.getElementById('live-calls');
const liveStatus = document.getElementById('live-status');
/** callSid → { call, said } for the calls in progress. */
const live = new Map();
let ticker;
let reloadSoon;

function elapsed(call) {
  return formatClock(Date.now() - call.startedAt);
}

function renderLive() {
  liveSection.hidden = live.size === 0;
  liveList.replaceChildren(
    ...[...live.values()]
      .sort((a, b) => b.call.startedAt - a.call.startedAt)
      .map(({ call, said }) =>
        h(
          'li',
          { class: 'live-item', dataset: { sid: call.callSid } },
          h(
            'a',
            { href: `/calls/${encodeURIComponent(call.callSid)}` },
            h('span', { class: 'tabular elapsed' }, elapsed(call)),
            h('span', { class: 'number' }, call.channel === 'browser' ? call.from || 'Browser' : callerCell(call)),
            h('span', null, call.flow ? h('span', { class: 'flow' }, call.flow) : null, channelTag(call.channel)),
            h('span', { class: 'said' }, said ? `${said.who === 'bot' ? 'Bot' : 'Caller'}: “${said.text}”` : 'Connecting…'),
          ),
        ),
      ),
  );
  if (live.size > 0 && !ticker) {
    ticker = setInterval(() => {
      for (const el of liveList.querySelectorAll('.live-item')) {
        const entry = live.get(el.dataset.sid);
        if (entry) el.querySelector('.elapsed').textContent = elapsed(entry.call);
      }
    }, 1000);
  } else if (live.size === 0 && ticker) {
    clearInterval(ticker);
    ticker = undefined;
  }
}

/** A call started or ended: the stored list changes too (debounced). */
function refreshList() {
  clearTimeout(reloadSoon);
  reloadSoon = setTimeout(load, 400);
}

function watchLive() {
  const source = new EventSource('/api/calls/live');
  source.addEventListener('snapshot', (event) => {
    live.clear();
    for (const call of JSON.parse(event.data).calls) live.set(call.callSid, { call, said: undefined });
    liveStatus.textContent = 'Live';
    renderLive();
  });
  source.addEventListener('call', (event) => {
    const { call } = JSON.parse(event.data);
    const known = live.get(call.callSid);
    if (call.inProgress) {
      live.set(call.callSid, { call, said: known?.said });
      if (!known) refreshList();
    } else if (known) {
      live.delete(call.callSid);
      refreshList();
    } else return;
    renderLive();
  });
  source.addEventListener('said', (event) => {
    const said = JSON.parse(event.data);
    const entry = live.get(said.callSid);
    if (!entry) return;
    entry.said = said;
    renderLive();
  });
  source.addEventListener('error', () => {
    // EventSource reconnects by itself (and gets a fresh snapshot); a refusal (401, 503) closes it.
    liveStatus.textContent = source.readyState === EventSource.CLOSED ? 'Live view unavailable; reload the page' : 'Reconnecting…';
  });
}

filtersFromUrl();
load();
watchLive();
