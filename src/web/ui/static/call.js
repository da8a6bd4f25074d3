// One call: header (who, when, outcome, follow-up, latency figures), recording, exports, and the
// conversation as a timeline. A call in progress is followed live (/api/calls/:sid/live): its
// timeline grows as things happen, and the page shows the final record when it ends.
import {
  channelTag, errorBox, followUpBox, formatClock, formatDuration, formatFull, getJson, h, maskNumber, numbersShown,
  outcomeBadge, setNumbersShown,
} from './common.js';
import { analysisPanel } from './analysis-panel.js';

const root = document.getElementById('call');
const sid = decodeURIComponent(location.pathname.split('/')[2] ?? '');
/** The business's time zone (`timeZone` of GET /api/calls/:sid): times show there. Set by render. */
let zone;

/** Offset in the call as m:ss, with the exact time in a tooltip. */
function at(ms, startedAt) {
  return h('time', { class: 'at', datetime: new Date(startedAt + ms).toISOString(), title: `${(ms / 1000).toFixed(1)} s into the call · ${formatFull(startedAt + ms, zone)}` }, formatClock(ms));
}

function json(value) {
  return value === undefined ? '—' : JSON.stringify(value, null, 2);
}

function explained(code, explanations) {
  const info = explanations[code];
  if (!info) return null;
  return h(
    'dl',
    { class: 'explain' },
    h('dt', null, 'What happened'),
    h('dd', null, info.explanation),
    h('dt', null, 'What to do'),
    h('dd', null, info.fix),
  );
}

function statusBadge(status) {
  const label = { ok: 'OK', error: 'Error', timeout: 'Timed out', cancelled: 'Cancelled', rejected: 'Rejected' }[status] ?? status;
  return h('span', { class: `badge status-${status}` }, label);
}

function bubble(side, who, e, startedAt, body, extra) {
  return h(
    'li',
    { class: `turn turn-${side}`, id: `e${e.seq}` },
    h('div', { class: 'bubble' }, h('div', { class: 'turn-meta' }, h('span', { class: 'who' }, who), at(e.atMs, startedAt)), h('p', null, body), extra),
  );
}

function systemRow(kind, e, startedAt, ...content) {
  return h('li', { class: `sys sys-${kind}`, id: `e${e.seq}` }, h('span', { class: 'sys-pill' }, ...content), at(e.atMs, startedAt));
}

function renderEvent(e, data) {
  const start = data.call.startedAt;
  const explanations = data.explanations;
  switch (e.kind) {
    case 'caller_utterance':
      return bubble('caller', 'Caller', e, start, e.text);
    case 'bot_utterance': {
      if (!e.interrupted) return bubble('bot', 'Bot', e, start, e.text);
      const fraction = e.sentMs > 0 ? Math.min(1, e.heardMs / e.sentMs) : 0;
      const fill = h('span', { class: 'heard-fill' });
      fill.style.width = `${Math.round(fraction * 100)}%`;
      const heard = h(
        'div',
        { class: 'heard' },
        h('span', { class: 'heard-bar', 'aria-hidden': 'true' }, fill),
        h('span', null, `Interrupted: heard ${formatDuration(e.heardMs)} of ${formatDuration(e.sentMs)}`),
      );
      const li = bubble('bot', 'Bot', e, start, e.text, heard);
      li.classList.add('interrupted');
      return li;
    }
    case 'function_call': {
      const failed = e.status !== 'ok';
      return h(
        'li',
        { class: `fn ${failed ? 'fn-failed' : ''}`, id: `e${e.seq}` },
        h(
          'details',
          { class: 'fn-card' },
          h(
            'summary',
            null,
            h('span', { class: 'fn-label' }, 'Function'),
            h('code', { class: 'fn-name' }, e.name),
            statusBadge(e.status),
            h('span', { class: 'fn-latency' }, formatDuration(e.latencyMs)),
            at(e.atMs, start),
          ),
          h(
            'div',
            { class: 'fn-body' },
            h('h3', null, 'Arguments'),
            h('pre', null, json(e.args)),
            e.status === 'ok'
              ? [h('h3', null, 'Result'), h('pre', null, json(e.result))]
              : [
                  h('h3', null, 'Error'),
                  h('p', { class: 'fn-error' }, e.errorCode ? h('code', null, e.errorCode) : null, e.errorCode ? ' ' : null, e.error ?? 'No message.'),
                  e.errorCode ? explained(e.errorCode, explanations) : null,
                ],
          ),
        ),
      );
    }
    case 'dtmf':
      return systemRow('dtmf', e, start, 'Caller pressed ', h('kbd', null, e.digit));
    case 'stage_change':
      return h(
        'li',
        { class: 'stage', id: `e${e.seq}` },
        h('span', { class: 'stage-label' }, 'Stage ', e.from ? [h('b', null, e.from), ' → '] : null, h('b', null, e.to), e.reason ? h('span', { class: 'stage-reason' }, ` · ${e.reason}`) : null),
        at(e.atMs, start),
      );
    case 'transfer':
      return systemRow('transfer', e, start, 'Transferred to ', h('strong', null, e.target));
    case 'reconnect':
      return systemRow('reconnect', e, start, `Reconnected to the voice agent (${e.resumed ? 'conversation resumed' : 'new session'}) after ${formatDuration(e.silenceMs)} of silence`);
    case 'migrated':
      return systemRow('reconnect', e, start, `Moved from instance ${e.from} to ${e.to} after ${formatDuration(e.gapMs)} without media (${e.withHandle ? 'conversation resumed' : 'conversation re-seeded'})`);
    case 'note':
      return systemRow('note', e, start, e.text);
    case 'gemini_close':
      return alertRow('warning', e, start, `Voice agent connection closed (${e.code})`, [
        h('p', null, h('code', null, e.errorCode), ' ', e.reason || 'No reason given.', h('span', { class: 'muted' }, ` · ${e.model}`)),
        explained(e.errorCode, explanations),
      ]);
    case 'error':
      return alertRow('error', e, start, 'Error', [h('p', null, h('code', null, e.code), ' ', e.message), explained(e.code, explanations)]);
    default:
      return systemRow('note', e, start, `${e.kind}`);
  }
}

function alertRow(level, e, start, title, body) {
  return h('li', { class: `alert-row`, id: `e${e.seq}` }, h('div', { class: `card alert alert-${level}` }, h('div', { class: 'alert-title' }, h('strong', null, title), at(e.atMs, start)), body));
}

function stat(label, value, hint, warn) {
  return h('div', { class: `stat${warn ? ' stat-warn' : ''}` }, h('dt', null, label), h('dd', null, value, hint ? h('span', { class: 'stat-hint' }, hint) : null));
}

function header(data) {
  const c = data.call;
  const lat = data.latency;
  const numberEl = h('span', { class: 'caller-number' });
  const toggle = h('button', { type: 'button', class: 'link-button', 'aria-pressed': String(numbersShown()) });
  const paint = () => {
    const shown = numbersShown();
    numberEl.textContent = shown ? c.from : maskNumber(c.from);
    toggle.textContent = shown ? 'Hide number' : 'Show number';
    toggle.setAttribute('aria-pressed', String(shown));
  };
  toggle.addEventListener('click', () => {
    setNumbersShown(!numbersShown());
    paint();
  });
  paint();

  const detail = c.outcomeDetail ?? {};
  const outcomeNotes = [
    detail.transferTarget ? h('p', null, 'To ', h('strong', null, detail.transferTarget)) : null,
    detail.reason ? h('p', null, detail.reason) : null,
    detail.errorCode ? h('p', null, h('code', null, detail.errorCode)) : null,
  ];
  const outcomeExplain = detail.errorCode ? explained(detail.errorCode, data.explanations) : null;
  const tokens = c.usage?.totalTokens;

  return h(
    'section',
    { class: 'card call-head', 'aria-labelledby': 'call-title' },
    h(
      'div',
      { class: 'head-row' },
      h(
        'div',
        null,
        h(
          'p',
          { class: 'eyebrow' },
          c.flow ? `${c.flow} flow` : 'Call',
          c.flowVersion ? h('code', { class: 'flow-version', title: 'Version (content hash) of the flow file this call ran on' }, ` · version ${c.flowVersion.slice(0, 12)}`) : null,
          channelTag(c.channel),
        ),
        h('h1', { id: 'call-title' }, 'Call from ', numberEl, ' ', toggle),
        h(
          'p',
          { class: 'muted' },
          formatFull(c.startedAt, zone),
          ' · ',
          c.durationMs !== undefined ? `lasted ${formatClock(c.durationMs)}` : c.endedAt === undefined ? 'in progress' : 'no end recorded',
          c.endedAt === undefined ? h('span', { class: 'live-badge', id: 'live-badge' }, h('span', { class: 'live-dot', 'aria-hidden': 'true' }), 'Live') : null,
        ),
      ),
      h('div', { class: 'outcome' }, outcomeBadge(c.outcome), outcomeNotes),
    ),
    followUpBox(c.followUp),
    outcomeExplain ? h('div', { class: 'outcome-explain' }, outcomeExplain) : null,
    h(
      'dl',
      { class: 'stats' },
      stat('First bot audio', formatDuration(lat.firstBotAudioMs), 'after answer', lat.firstBotAudioMs > 2000),
      stat('Reply time p50', formatDuration(lat.p50Ms), `${lat.turns} ${lat.turns === 1 ? 'turn' : 'turns'}`, lat.p50Ms > 1500),
      stat('Reply time p95', formatDuration(lat.p95Ms), lat.maxMs !== undefined ? `max ${formatDuration(lat.maxMs)}` : null, lat.p95Ms > 2500),
      stat('Reconnects', String(c.reconnects ?? 0), c.geminiCloses?.length ? `${c.geminiCloses.length} closed` : null, c.reconnects > 0),
      stat('Tokens', tokens ? tokens.toLocaleString() : '—', tokens ? `${c.usage.promptTokens.toLocaleString()} in · ${c.usage.responseTokens.toLocaleString()} out` : null),
    ),
    h(
      'div',
      { class: 'head-tools' },
      data.recordingUrl
        ? h('figure', { class: 'recording' }, h('figcaption', null, 'Recording ', h('span', { class: 'muted' }, '(caller left, bot right)')), h('audio', { controls: true, preload: 'metadata', src: data.recordingUrl }, 'Your browser cannot play this recording.'))
        : h('p', { class: 'muted no-recording' }, 'No recording for this call.'),
      h(
        'div',
        { class: 'exports' },
        h('span', { class: 'muted' }, 'Export'),
        h('a', { class: 'button small', href: data.exports.json, download: `call-${c.callSid}.json` }, 'JSON'),
        h('a', { class: 'button small', href: data.exports.txt, download: `call-${c.callSid}.txt` }, 'Text'),
      ),
    ),
    h(
      'details',
      { class: 'tech' },
      h('summary', null, 'Technical details'),
      h(
        'dl',
        { class: 'kv' },
        [
          ['Call SID', c.callSid],
          ['Stream SID', c.streamSid],
          ['Called number', c.to],
          ['Channel', c.channel === 'browser' ? 'browser test phone' : c.channel ? 'phone' : undefined],
          ['Flow version', c.flowVersion],
          ['Models', c.models?.join(', ')],
          ['Answered', c.answeredAt ? `${formatDuration(c.answeredAt - c.startedAt)} after the webhook` : undefined],
          ['Ended', c.endedAt ? formatFull(c.endedAt, zone) : undefined],
          ['Recording file', c.recordingPath],
        ]
          .filter(([, v]) => v)
          .map(([k, v]) => [h('dt', null, k), h('dd', null, h('code', null, v))]),
      ),
    ),
  );
}

function render(data) {
  zone = data.timeZone;
  document.title = `Call ${formatFull(data.call.startedAt, zone)} · callbridge`;
  const inProgress = data.call.endedAt === undefined;
  const items = data.events.map((e) => renderEvent(e, data));
  root.replaceChildren(
    header(data),
    analysisPanel(data.analysis, zone, again) ?? '',
    h(
      'section',
      { class: 'conversation', 'aria-labelledby': 'conv-title' },
      h('div', { class: 'conv-head' }, h('h2', { id: 'conv-title' }, 'Conversation'), h('span', { class: 'muted', id: 'event-count' }, `${data.events.length} events`)),
      h('ol', { class: 'timeline', id: 'timeline', 'aria-live': inProgress ? 'polite' : 'off' }, items),
      items.length === 0 ? h('p', { class: 'muted', id: 'nothing' }, inProgress ? 'Waiting for the conversation…' : 'Nothing was recorded for this call.') : null,
    ),
  );
  root.removeAttribute('aria-busy');
}

/** Adds one live event in call-time order (a bot line is recorded once played, with its start time). */
function addEvent(e, data) {
  if (data.events.some((x) => x.seq === e.seq)) return;
  data.events.push(e);
  const timeline = document.getElementById('timeline');
  const el = renderEvent(e, data);
  const after = [...timeline.children].find((li) => {
    const other = data.events.find((x) => `e${x.seq}` === li.id);
    return other && other.atMs > e.atMs;
  });
  timeline.insertBefore(el, after ?? null);
  document.getElementById('nothing')?.remove();
  document.getElementById('event-count').textContent = `${data.events.length} events`;
}

/** Follows a call in progress until it ends, then shows the final record (explanations, recording). */
function follow(data) {
  const source = new EventSource(`/api/calls/${encodeURIComponent(sid)}/live`);
  source.addEventListener('snapshot', (event) => {
    const snap = JSON.parse(event.data);
    data.call = snap.call;
    data.events = snap.events;
    render(data);
  });
  source.addEventListener('event', (event) => addEvent(JSON.parse(event.data), data));
  source.addEventListener('ended', () => {
    source.close();
    main(true);
  });
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) document.getElementById('live-badge')?.replaceChildren('Live view unavailable; reload the page');
  });
}

async function main(retried = false) {
  let data;
  try {
    data = await getJson(`/api/calls/${encodeURIComponent(sid)}`);
  } catch (err) {
    // A call opened from the live list in its first moments may not be written yet (≤ 0.2 s).
    if (!retried && /^no call /.test(err.message)) return void setTimeout(() => main(true), 500);
    root.replaceChildren(errorBox(err.message));
    root.removeAttribute('aria-busy');
    return;
  }
  render(data);
  if (data.call.endedAt === undefined) follow(data);
  else if (data.analysis?.status === 'pending') watchAnalysis();
}

/** "Analyse again": show it pending at once, then follow it. */
const again = {
  sid,
  onQueued(analysis) {
    const panel = analysisPanel(analysis, zone, again);
    if (panel) document.getElementById('analysis')?.replaceWith(panel);
    watchAnalysis();
  },
};

/** Re-reads the call while its analysis is pending (a few seconds, usually), then shows it. */
function watchAnalysis(tries = 0) {
  if (tries >= 60) return;
  setTimeout(async () => {
    let data;
    try {
      data = await getJson(`/api/calls/${encodeURIComponent(sid)}`);
    } catch {
      return;
    }
    const panel = analysisPanel(data.analysis, zone, again);
    if (panel) document.getElementById('analysis')?.replaceWith(panel);
    if (data.analysis?.status === 'pending') watchAnalysis(tries + 1);
  }, 2000);
}

// Back to the list as it was left (filters and page), when we came from it.
const lastList = sessionStorage.getItem('callbridge.lastList');
if (lastList && lastList.startsWith('/calls')) document.getElementById('back').setAttribute('href', lastList);

main();
