// Shared helpers of the call review UI. Every piece of user text reaches the page through
// text nodes built by h(); nothing here (or in list.js / call.js) uses innerHTML.

/**
 * Builds an element. props: attributes (strings), `class`, `dataset`, event handlers as `on*`
 * functions; children: nodes, strings (→ text nodes), arrays, or null/undefined/false (skipped).
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'class') el.className = value;
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** GET JSON from the API; a 401 sends the browser to the sign-in page. */
export async function getJson(url) {
  const res = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (res.status === 401) {
    location.assign(`/calls/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    throw new Error('signed out');
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message || `the server answered ${res.status}`);
  return body;
}

export const OUTCOMES = {
  in_progress: 'In progress',
  completed: 'Completed',
  transferred: 'Transferred',
  ended_by_bot: 'Ended by bot',
  caller_hung_up: 'Caller hung up',
  failed: 'Failed',
};

export function outcomeBadge(outcome) {
  return h('span', { class: `badge outcome-${outcome}` }, OUTCOMES[outcome] ?? outcome);
}

export const CHANNELS = { phone: 'Phone', browser: 'Browser test phone' };

/** "Browser test" tag for calls from /phone (phone calls, the usual case, get none). */
export function channelTag(channel) {
  return channel === 'browser' ? h('span', { class: 'tag tag-browser', title: 'Placed from the browser test phone (/phone)' }, 'Browser test') : null;
}

export const FOLLOW_UPS = { any: 'Needs follow-up', red: 'Red: call failed or not handed over', amber: 'Amber: something may not have happened' };

/** The follow-up flag of a call (amber or red) with its reasons in the tooltip, or null. */
export function followUpBadge(followUp) {
  if (!followUp) return null;
  const reasons = followUp.reasons.join(' ');
  return h('span', { class: `badge follow-up follow-up-${followUp.level}`, title: reasons, 'aria-label': `Follow up (${followUp.level}): ${reasons}` }, 'Follow up');
}

/** The follow-up box of the call page: level and every reason. */
export function followUpBox(followUp) {
  if (!followUp) return null;
  return h(
    'div',
    { class: `follow-up-box follow-up-${followUp.level}`, role: 'note' },
    h('strong', null, followUp.level === 'red' ? 'Follow up: this call failed or was not handed over' : 'Follow up: something the caller wanted may not have happened'),
    h('ul', null, followUp.reasons.map((r) => h('li', null, r))),
  );
}

/** 640 → "640 ms", 4200 → "4.2 s", 83400 → "1m 23s". */
export function formatDuration(ms) {
  if (ms === undefined || ms === null) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  const hours = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return hours > 0 ? `${hours}h ${m}m` : `${m}m ${String(s % 60).padStart(2, '0')}s`;
}

/** Call length as a clock: 33500 → "0:34", 3725000 → "1:02:05". */
export function formatClock(ms) {
  if (ms === undefined || ms === null) return '—';
  const s = Math.round(ms / 1000);
  const hours = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

// Dates and times in the business's time zone (each call's `timeZone`): zone-time.js.
export { formatWhen, formatFull } from './zone-time.js';

/** "+447700900123" → "+44 ••• •••0123"; short or non-numeric values are masked too. */
export function maskNumber(value) {
  if (!value) return 'Unknown';
  const digits = value.replace(/\D/g, '');
  if (digits.length === 0) return value.startsWith('client:') ? 'App caller' : value; // "anonymous"
  if (digits.length < 6) return '•••';
  const prefix = value.trim().startsWith('+') ? `+${digits.slice(0, digits.length > 11 ? 2 : 1)} ` : '';
  return `${prefix}••• •••${digits.slice(-4)}`;
}

const SHOW_KEY = 'callbridge.showNumbers';
export function numbersShown() {
  return sessionStorage.getItem(SHOW_KEY) === '1';
}
export function setNumbersShown(shown) {
  sessionStorage.setItem(SHOW_KEY, shown ? '1' : '0');
}

/** Snippet text with \u0002…\u0003 around matches → text nodes and <mark>s. */
export function highlighted(snippet) {
  const out = [];
  const parts = snippet.split(/(\u0002[^\u0003]*\u0003)/);
  for (const part of parts) {
    if (part.startsWith('\u0002')) out.push(h('mark', null, part.slice(1, -1)));
    else if (part) out.push(part);
  }
  return out;
}

export function errorBox(message) {
  return h('div', { class: 'card alert alert-error', role: 'alert' }, h('strong', null, 'Could not load. '), message);
}
