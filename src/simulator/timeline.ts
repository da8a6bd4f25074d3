/**
 * The simulated call's timeline: what happened when, on the call clock (ms since placeCall).
 */

export type TimelineEvent = { atMs: number } & (
  | { kind: 'webhook'; status: number }
  | { kind: 'twiml'; verbs: string[] }
  | { kind: 'stream-open'; url: string }
  | { kind: 'stream-refused'; status: number }
  | { kind: 'start-sent'; streamSid: string }
  | { kind: 'step'; step: string }
  | { kind: 'dtmf'; digit: string }
  | { kind: 'bot-speech-start' }
  | { kind: 'bot-speech-stop' }
  | { kind: 'mark-echo'; name: string; cleared: boolean }
  | { kind: 'clear'; droppedMs: number; marksEchoed: number }
  | { kind: 'stop-sent'; reason: string }
  | { kind: 'server-closed'; code: number; reason: string }
  | { kind: 'socket-closed'; code: number; reason: string }
  | { kind: 'twiml-replaced'; verbs: string[] }
  | { kind: 'wait-timeout'; step: string }
  | { kind: 'status-callback'; event: string; status: number }
  | { kind: 'protocol-error'; reason: string }
  | { kind: 'outcome'; endedBy: string; verbs: string[] }
);

export type TimelineKind = TimelineEvent['kind'];

function line(e: TimelineEvent): string | undefined {
  switch (e.kind) {
    case 'webhook':
      return `voice webhook answered HTTP ${e.status}`;
    case 'twiml':
      return `TwiML: ${e.verbs.join(' → ') || '(empty)'}`;
    case 'stream-open':
      return `media stream open (${e.url})`;
    case 'stream-refused':
      return `media stream REFUSED: HTTP ${e.status}`;
    case 'start-sent':
      return `start sent (${e.streamSid})`;
    case 'step':
      return `caller: ${e.step}`;
    case 'dtmf':
      return 'caller pressed a key';
    case 'bot-speech-start':
      return 'bot speech starts (heard)';
    case 'bot-speech-stop':
      return 'bot speech stops (heard)';
    case 'mark-echo':
      return undefined; // many; summarised in counts
    case 'clear':
      return `clear: dropped ${e.droppedMs} ms of bot audio, echoed ${e.marksEchoed} marks`;
    case 'stop-sent':
      return `stop sent (${e.reason})`;
    case 'server-closed':
      return `server closed the stream (${e.code}${e.reason ? ` ${e.reason}` : ''})`;
    case 'socket-closed':
      return `socket closed (${e.code}${e.reason ? ` ${e.reason}` : ''})`;
    case 'twiml-replaced':
      return `call TwiML replaced over REST: ${e.verbs.join(' → ')}`;
    case 'wait-timeout':
      return `TIMEOUT: ${e.step}`;
    case 'status-callback':
      return `status callback ${e.event} → HTTP ${e.status}`;
    case 'protocol-error':
      return `PROTOCOL ERROR: ${e.reason}`;
    case 'outcome':
      return `call ended by ${e.endedBy}${e.verbs.length ? `: ${e.verbs.join(' → ')}` : ''}`;
  }
}

/** A human-readable timeline, one event per line (mark echoes left out). */
export function formatTimeline(events: readonly TimelineEvent[]): string {
  const lines: string[] = [];
  for (const e of events) {
    const text = line(e);
    if (text === undefined) continue;
    lines.push(`${(e.atMs / 1000).toFixed(3).padStart(9)} s  ${text}`);
  }
  return lines.join('\n');
}
