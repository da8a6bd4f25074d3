// The browser test phone (/phone). Places a call to a flow over a WebSocket (/phone/ws): the
// microphone goes through an AudioWorklet (phone-capture.worklet.js) as 20 ms frames of the line's
// format, the bot's audio comes back into another (phone-playback.worklet.js) with a small jitter
// buffer, marks and clear; the call's events arrive as they are recorded. Protocol:
// docs/browser-phone.md. User text reaches the page only through text nodes (common.js h()).
import { h, getJson } from './common.js';

const JITTER_TARGET_MS = 40;
const $ = (id) => document.getElementById(id);
const els = {
  form: $('dial'), flow: $('flow'), pretend: $('pretend'), call: $('call'), hangup: $('hangup'),
  status: $('status'), keypad: $('keypad'), captions: $('captions'), events: $('events'),
  micLevel: $('mic-level'), botLevel: $('bot-level'), recordLink: $('record-link'),
};

/** The call in progress (one at a time), or null. */
let current = null;

function setStatus(text, tone = '') {
  els.status.textContent = text;
  els.status.dataset.tone = tone;
}

function setInCall(on) {
  els.call.disabled = on;
  els.hangup.disabled = !on;
  els.flow.disabled = on;
  els.pretend.disabled = on;
  for (const input of els.form.querySelectorAll('input[name=quality]')) input.disabled = on;
  for (const key of els.keypad.querySelectorAll('button')) key.disabled = !on;
}

async function loadFlows() {
  const { flows } = await getJson('/phone/flows');
  const wanted = new URLSearchParams(location.search).get('flow');
  els.flow.replaceChildren();
  for (const f of flows) els.flow.append(h('option', { value: f.name }, f.default ? `${f.name} (default)` : f.name));
  const pick = flows.find((f) => f.name === wanted) ?? flows.find((f) => f.default) ?? flows[0];
  if (pick) els.flow.value = pick.name;
  if (flows.length === 0) {
    els.flow.append(h('option', { value: '' }, 'No flows'));
    setStatus('There is no valid flow to call. Check FLOWS_DIR (see /flows).', 'error');
    els.call.disabled = true;
  }
  if (wanted && !flows.some((f) => f.name === wanted)) setStatus(`There is no flow named “${wanted}”; the default flow is selected.`, 'warn');
}

// --- placing a call ----------------------------------------------------------------------------

async function startCall() {
  if (current) return;
  const quality = els.form.querySelector('input[name=quality]:checked')?.value ?? 'phone';
  const params = new URLSearchParams({ flow: els.flow.value, quality });
  if (els.pretend.value) params.set('pretend', new Date(els.pretend.value).toISOString());
  els.captions.replaceChildren();
  live.bot = [];
  live.caller = [];
  els.events.replaceChildren();
  els.recordLink.hidden = true;
  setInCall(true);
  setStatus('Starting the microphone…');
  const call = { quality, ws: null, ctx: null, stream: null, capture: null, playback: null, callSid: null, ready: false, ended: false, refusal: null, meters: 0 };
  current = call;
  try {
    await openAudio(call);
  } catch (err) {
    finish(call, `The microphone could not be opened: ${err.message || err}`, 'error');
    return;
  }
  if (call.ended) return;
  setStatus('Calling…');
  openSocket(call, params);
}

/** The AudioContext at the browser's own rate, the two worklets and the meters. */
async function openAudio(call) {
  // Created in the click handler (a user gesture), so it may play sound.
  call.ctx = new AudioContext({ latencyHint: 'interactive' });
  await Promise.all([
    call.ctx.audioWorklet.addModule('/phone/worklets/capture.js'),
    call.ctx.audioWorklet.addModule('/phone/worklets/playback.js'),
  ]);
  call.stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 } });
  if (call.ended) return;
  const source = call.ctx.createMediaStreamSource(call.stream);
  call.capture = new AudioWorkletNode(call.ctx, 'phone-capture', { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1], processorOptions: { quality: call.quality } });
  const mute = call.ctx.createGain();
  mute.gain.value = 0;
  source.connect(call.capture).connect(mute).connect(call.ctx.destination);
  call.playback = new AudioWorkletNode(call.ctx, 'phone-playback', { numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [1], processorOptions: { quality: call.quality, targetMs: JITTER_TARGET_MS } });
  const micAnalyser = call.ctx.createAnalyser();
  const botAnalyser = call.ctx.createAnalyser();
  source.connect(micAnalyser);
  call.playback.connect(botAnalyser).connect(call.ctx.destination);
  call.playback.port.onmessage = (e) => {
    if (e.data.type !== 'played') return;
    for (const name of e.data.marks) send(call, { type: 'mark', name });
  };
  call.capture.port.onmessage = (e) => {
    if (call.ready && call.ws?.readyState === WebSocket.OPEN) call.ws.send(e.data);
  };
  startMeters(call, micAnalyser, botAnalyser);
  if (call.ctx.state === 'suspended') await call.ctx.resume();
}

function startMeters(call, mic, bot) {
  const buf = new Float32Array(mic.fftSize);
  const level = (analyser) => {
    analyser.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const x of buf) sum += x * x;
    return Math.min(1, Math.sqrt(sum / buf.length) * 4);
  };
  call.meters = setInterval(() => {
    els.micLevel.value = level(mic);
    const b = level(bot);
    els.botLevel.value = b;
    // The highest bot level so far: tests and people can tell audio played.
    if (b > Number(els.botLevel.dataset.peak ?? 0)) els.botLevel.dataset.peak = String(b);
  }, 50);
}

function openSocket(call, params) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${scheme}//${location.host}/phone/ws?${params}`);
  ws.binaryType = 'arraybuffer';
  call.ws = ws;
  ws.onmessage = (e) => {
    if (typeof e.data !== 'string') {
      call.playback?.port.postMessage({ type: 'audio', bytes: e.data }, [e.data]);
      return;
    }
    let m;
    try {
      m = JSON.parse(e.data);
    } catch {
      return;
    }
    onMessage(call, m);
  };
  ws.onclose = (e) => void onClose(call, e);
}

function send(call, message) {
  if (call.ws?.readyState === WebSocket.OPEN) call.ws.send(JSON.stringify(message));
}

function onMessage(call, m) {
  switch (m.type) {
    case 'ready':
      call.ready = true;
      call.callSid = m.callSid;
      setStatus(`In a call with “${m.flow}” (${m.quality === 'wideband' ? 'wideband 16 kHz' : 'phone line 8 kHz μ-law'}).`, 'live');
      return;
    case 'mark':
      return call.playback?.port.postMessage({ type: 'mark', name: m.name });
    case 'clear':
      return call.playback?.port.postMessage({ type: 'clear' });
    case 'caption':
      return liveCaption(m.who, m.text, m.id);
    case 'event':
      return showEvent(m.event);
    case 'transfer':
      call.refusal = `The call would now be transferred to ${m.number}. The test call ends here.`;
      return;
    case 'hangup':
      call.refusal = 'The bot hung up.';
      return;
    case 'closed':
      call.refusal = `Outside business hours. The caller hears: “${m.say}”${m.transfer ? ` and is transferred to ${m.transfer.target} (${m.transfer.number})` : ''}.`;
      speak(m.say);
      return;
    case 'refused':
    case 'error':
      call.refusal = m.message;
      return;
    default:
  }
}

/** The closed-hours message is said by the phone network on a real call; here the browser says it. */
function speak(text) {
  if (!text || !('speechSynthesis' in window)) return;
  try {
    speechSynthesis.speak(new SpeechSynthesisUtterance(text));
  } catch {
    // no voice available: the message is on the page
  }
}

async function onClose(call, e) {
  if (call.ended) return;
  if (!call.ready && !call.refusal) {
    // Refused before the WebSocket opened (the browser shows no status): ask why.
    let why = 'The server refused the call.';
    try {
      const status = await getJson('/phone/flows');
      if (status.busy) why = 'This session already has a test call open (another tab?). Hang it up first.';
    } catch {
      why = 'Your sign-in has expired: sign in again.';
    }
    return finish(call, why, 'error');
  }
  const normal = e.code === 1000 || e.code === 1001;
  finish(call, call.refusal ?? (normal ? 'Call ended.' : `The call was cut (${e.code}${e.reason ? `: ${e.reason}` : ''}).`), normal ? '' : 'error');
}

function finish(call, text, tone) {
  if (call.ended) return;
  call.ended = true;
  clearInterval(call.meters);
  call.capture?.port.postMessage('stop');
  call.playback?.port.postMessage({ type: 'stop' });
  for (const track of call.stream?.getTracks() ?? []) track.stop();
  void call.ctx?.close().catch(() => {});
  if (call.ws && call.ws.readyState <= WebSocket.OPEN) call.ws.close(1000, 'page closed the call');
  if (current === call) current = null;
  setInCall(false);
  setStatus(text, tone);
  if (call.callSid) {
    els.recordLink.replaceChildren(h('a', { href: `/calls/${encodeURIComponent(call.callSid)}` }, 'Open this call’s record →'));
    els.recordLink.hidden = false;
  }
}

// --- what happened -----------------------------------------------------------------------------

function seconds(atMs) {
  return `${(atMs / 1000).toFixed(1)} s`;
}

function brief(value) {
  const text = JSON.stringify(value);
  return text === undefined ? '' : text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function captionItem(who, text, extra = '') {
  return h('li', { class: `caption ${who}${extra}` }, h('div', { class: 'bubble' }, h('span', { class: 'who' }, who === 'bot' ? 'Bot' : 'You'), h('span', { class: 'text' }, text)));
}

/** Captions being transcribed, oldest first per side (a recorded utterance replaces the oldest). */
const live = { bot: [], caller: [] };

/** Words as they are transcribed: appended to the utterance's live caption (a new one when it is new). */
function liveCaption(who, text, id) {
  if (who !== 'bot' && who !== 'caller') return;
  const key = who === 'bot' ? id : 'caller';
  let entry = live[who].find((e) => e.key === key);
  if (!entry) {
    entry = { key, el: captionItem(who, '', ' live') };
    live[who].push(entry);
    els.captions.append(entry.el);
  }
  const span = entry.el.querySelector('.text');
  if (/[.!?]$/.test(span.textContent) && /^[^\s.,!?;:]/.test(text)) span.textContent += ' ';
  span.textContent += text;
  entry.el.scrollIntoView({ block: 'nearest' });
}

function showEvent(ev) {
  if (ev.kind === 'caller_utterance' || ev.kind === 'bot_utterance') {
    const who = ev.kind === 'bot_utterance' ? 'bot' : 'caller';
    const item = captionItem(who, ev.text || wordless(ev), ev.interrupted ? ' interrupted' : '');
    const pending = live[who].shift();
    if (pending) pending.el.replaceWith(item);
    else els.captions.append(item);
    item.scrollIntoView({ block: 'nearest' });
    return;
  }
  const text = describe(ev);
  if (text === null) return;
  const failed = ev.kind === 'function_call' && ev.status !== 'ok';
  els.events.append(h('li', { class: `phone-event kind-${ev.kind}${failed ? ' status-error' : ''}`, dataset: { kind: ev.kind } }, h('span', { class: 'at' }, seconds(ev.atMs)), text));
  els.events.lastElementChild?.scrollIntoView({ block: 'nearest' });
}

/** A caption without words (the bot was interrupted before its transcription came, or the caller's words were not transcribed). */
function wordless(ev) {
  return ev.kind === 'bot_utterance' ? `(speech, ${seconds(ev.heardMs ?? 0)} heard)` : '(speech)';
}

function describe(ev) {
  switch (ev.kind) {
    case 'stage_change':
      return `Stage: ${ev.from ? `${ev.from} → ` : ''}${ev.to} (${ev.reason})`;
    case 'function_call':
      return `Function ${ev.name}(${brief(ev.args)}) → ${ev.status === 'ok' ? brief(ev.result) : `${ev.status}${ev.error ? `: ${ev.error}` : ''}`} · ${ev.latencyMs} ms`;
    case 'transfer':
      return `Would transfer to ${ev.target}`;
    case 'dtmf':
      return `Pressed ${ev.digit}`;
    case 'error':
      return `Error ${ev.code}: ${ev.message}`;
    case 'note':
      return ev.text;
    case 'gemini_close':
      return `Agent session closed (${ev.code} ${ev.errorCode})`;
    case 'reconnect':
      return `Agent session restored on ${ev.model}${ev.resumed ? ' (resumed)' : ''}`;
    default:
      return null;
  }
}

// --- controls ----------------------------------------------------------------------------------

function press(digit) {
  if (!current?.ready) return;
  send(current, { type: 'dtmf', digit });
  const key = els.keypad.querySelector(`[data-digit="${digit}"]`);
  key?.classList.add('pressed');
  setTimeout(() => key?.classList.remove('pressed'), 150);
}

els.form.addEventListener('submit', (e) => {
  e.preventDefault();
  void startCall();
});
els.hangup.addEventListener('click', () => {
  if (!current) return;
  if (current.ready) send(current, { type: 'hangup' });
  else finish(current, 'Call cancelled.', '');
});
els.keypad.addEventListener('click', (e) => {
  const digit = e.target.closest?.('button[data-digit]')?.dataset.digit;
  if (digit) press(digit);
});
document.addEventListener('keydown', (e) => {
  if (!current?.ready || e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
  if (/^[0-9*#]$/.test(e.key)) press(e.key);
});

loadFlows().catch((err) => setStatus(`The flows could not be loaded: ${err.message}`, 'error'));
