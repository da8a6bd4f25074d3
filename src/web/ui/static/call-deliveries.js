// The call page's Notifications panel: every signed notification of the call (event, receiver,
// webhook-id, state), each attempt (time, HTTP status or error, duration, the reply's start), the
// payload sent, and a Resend button (same webhook-id, same body). Reads
// GET /api/calls/:sid/deliveries; resends with POST …/deliveries/:id/resend. Text reaches the page
// through text nodes only (h()). Shown only when the call has notifications.
import { h, getJson } from './common.js';

const sid = decodeURIComponent(location.pathname.split('/')[2] ?? '');
const STATES = { delivered: 'Delivered', pending: 'Sending', failed: 'Failed' };
const STATE_CLASS = { delivered: 'status-ok', pending: 'status-timeout', failed: 'status-error' };
const POLL_MS = 3000;
const MAX_POLLS = 40;

let section;
let timeZone;
let polls = 0;
let pollTimer;

function when(ms) {
  const options = { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short', ...(timeZone ? { timeZone } : {}) };
  try {
    return new Intl.DateTimeFormat(undefined, options).format(new Date(ms));
  } catch {
    return new Date(ms).toLocaleString();
  }
}

function attemptRow(a) {
  const result = a.status !== null ? `HTTP ${a.status}` : 'no reply';
  return h(
    'li',
    { class: 'delivery-attempt' },
    h('span', null, `#${a.attempt} · `, h('time', { datetime: new Date(a.atMs).toISOString() }, when(a.atMs))),
    ' · ',
    h('strong', null, result),
    ` · ${a.durationMs} ms`,
    a.error ? h('div', { class: 'muted' }, a.error) : null,
    a.reply ? h('details', null, h('summary', null, 'Reply'), h('pre', { class: 'json' }, a.reply)) : null,
  );
}

async function resend(d, button) {
  button.disabled = true;
  button.textContent = 'Queued…';
  try {
    const res = await fetch(`/api/calls/${encodeURIComponent(sid)}/deliveries/${d.id}/resend`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.message || `the server answered ${res.status}`);
    polls = 0;
    schedule(800);
  } catch (err) {
    button.disabled = false;
    button.textContent = 'Resend';
    button.after(h('span', { class: 'muted delivery-error', role: 'alert' }, ` Resend failed: ${err.message}`));
  }
}

function deliveryCard(d) {
  const button = h('button', { class: 'button small', type: 'button', 'data-delivery': String(d.id) }, 'Resend');
  button.addEventListener('click', () => resend(d, button));
  return h(
    'li',
    { class: 'delivery', 'data-state': d.state },
    h(
      'div',
      { class: 'delivery-head' },
      h('code', null, d.event),
      ' → ',
      h('span', { class: 'delivery-endpoint' }, d.endpoint),
      ' ',
      h('span', { class: `badge ${STATE_CLASS[d.state] ?? ''}` }, STATES[d.state] ?? d.state),
      ' ',
      button,
    ),
    h(
      'p',
      { class: 'muted' },
      `${d.attempts} attempt${d.attempts === 1 ? '' : 's'} · webhook-id `,
      h('code', null, d.webhookId),
      d.deliveredAtMs ? ` · delivered ${when(d.deliveredAtMs)}` : null,
    ),
    d.state !== 'delivered' && d.lastError ? h('p', { class: 'delivery-last-error' }, d.lastError) : null,
    d.attemptLog.length > 0 ? h('ol', { class: 'delivery-attempts' }, d.attemptLog.map(attemptRow)) : null,
    h('details', null, h('summary', null, 'Payload sent'), h('pre', { class: 'json' }, JSON.stringify(d.payload, null, 2))),
  );
}

function render(deliveries) {
  if (!section) {
    section = h('section', { class: 'card deliveries', id: 'deliveries', 'aria-labelledby': 'deliveries-title' });
    document.getElementById('main')?.append(section);
  }
  section.replaceChildren(
    h('h2', { id: 'deliveries-title' }, 'Notifications'),
    h('p', { class: 'muted' }, 'Signed webhooks sent for this call (Standard Webhooks). A resend uses the same webhook-id and body.'),
    h('ul', { class: 'deliveries-list' }, deliveries.map(deliveryCard)),
  );
}

function schedule(ms) {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(load, ms);
}

async function load() {
  let data;
  try {
    data = await getJson(`/api/calls/${encodeURIComponent(sid)}/deliveries`);
  } catch {
    return; // the call panel above reports a missing call or a signed-out session
  }
  timeZone = data.timeZone;
  if (data.deliveries.length > 0) render(data.deliveries);
  // Follow deliveries being sent (a resend, the first attempts) for a while.
  if (data.deliveries.some((d) => d.state === 'pending') && ++polls < MAX_POLLS) schedule(POLL_MS);
}

load();
