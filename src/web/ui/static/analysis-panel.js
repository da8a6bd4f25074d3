// The post-call analysis of a call (GET /api/calls/:sid → `analysis`): summary, intent, verdicts,
// the flow's declared fields (each value links to the list filtered by it), and which model and
// prompt version produced it. Pending, skipped and failed analyses say so. Text reaches the page
// through text nodes only (h()).
import { h } from './common.js';

const STATUS = { ok: ['Done', 'status-ok'], pending: ['Analysing…', 'status-timeout'], skipped: ['Skipped', 'status-cancelled'], failed: ['Failed', 'status-error'] };
const SENTIMENT = { positive: 'Positive', neutral: 'Neutral', negative: 'Negative', mixed: 'Mixed' };

function row(label, ...value) {
  return [h('dt', null, label), h('dd', null, ...value)];
}

function fieldValue(name, value) {
  if (value === null || value === undefined) return h('span', { class: 'muted' }, 'not said');
  const text = typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value);
  const href = `/calls?${new URLSearchParams({ [`field.${name}`]: String(value) })}`;
  return h('a', { href, title: `Calls where ${name} is ${String(value)}` }, text);
}

function when(ms, zone) {
  try {
    return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short', ...(zone ? { timeZone: zone } : {}) }).format(new Date(ms));
  } catch {
    return new Date(ms).toLocaleString();
  }
}

/** POST /api/calls/:sid/analyse, then `onQueued(analysis)`; errors show next to the button. */
function againButton(sid, onQueued) {
  const button = h('button', { type: 'button', class: 'button small', id: 'analyse-again' }, 'Analyse again');
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const res = await fetch(`/api/calls/${encodeURIComponent(sid)}/analyse`, { method: 'POST', credentials: 'same-origin', headers: { Accept: 'application/json' } });
      const body = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(body.message || `the server answered ${res.status}`);
      onQueued(body.analysis);
    } catch (err) {
      button.disabled = false;
      button.after(h('span', { class: 'muted', role: 'alert' }, ` Could not queue it: ${err.message}`));
    }
  });
  return button;
}

/**
 * The analysis section, or null when the call has none (still in progress, or older than analyses).
 * `again`: { sid, onQueued } adds the "Analyse again" button (settled analyses only).
 */
export function analysisPanel(a, zone, again) {
  if (!a) return null;
  const [label, cls] = STATUS[a.status] ?? [a.status, ''];
  const head = h(
    'div',
    { class: 'conv-head' },
    h('h2', { id: 'analysis-title' }, 'Analysis'),
    h('span', null, h('span', { class: `badge ${cls}`, id: 'analysis-status' }, label), ' ', again && a.status !== 'pending' ? againButton(again.sid, again.onQueued) : null),
  );
  const section = (...body) => h('section', { class: 'card analysis', id: 'analysis', 'aria-labelledby': 'analysis-title', dataset: { status: a.status } }, head, ...body);
  if (a.status === 'pending') return section(h('p', { class: 'muted' }, 'The call is being analysed; this updates by itself.'));
  if (a.status !== 'ok') {
    return section(h('p', null, a.error ?? (a.status === 'skipped' ? 'Nothing to analyse.' : 'The analysis failed.')), a.errorCode ? h('p', null, h('code', null, a.errorCode)) : null);
  }
  const names = Object.keys(a.fields ?? {});
  return section(
    h('p', { class: 'analysis-summary', id: 'analysis-summary' }, a.summary),
    h(
      'dl',
      { class: 'explain analysis-facts' },
      row('Intent', a.intent || '—'),
      row('Resolved', a.resolved ? 'Yes' : 'No'),
      row('Follow-up', a.followUp ? h('strong', { id: 'analysis-follow-up' }, 'Yes') : 'No', a.followUp && a.followUpReason ? [' — ', a.followUpReason] : null),
      row('Sentiment', SENTIMENT[a.sentiment] ?? a.sentiment),
    ),
    names.length > 0
      ? [h('h3', null, 'Fields'), h('dl', { class: 'explain analysis-fields', id: 'analysis-fields' }, names.map((n) => row(n, fieldValue(n, a.fields[n]))))]
      : null,
    h('p', { class: 'muted' }, `${a.model} · prompt ${a.promptVersion} · ${when(a.analysedAtMs, zone)}`),
  );
}
