/**
 * Twilio identifier formats: a two-letter prefix (CA call, AC account, MZ media stream) and 32
 * hexadecimal digits, as in docs/twilio-media-streams.md's examples (`CA…`, `AC…`, `MZ…`). Checked wherever a SID enters the server: the webhooks, the
 * media stream's `start`, the transcript store and the calls API.
 */
export const CALL_SID = /^CA[0-9a-fA-F]{32}$/;
export const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;
export const STREAM_SID = /^MZ[0-9a-fA-F]{32}$/;
/** Browser-phone calls (src/call/adapters/browser.ts) use `BR` + 32 hex digits as their CallSid. */
export const BROWSER_CALL_SID = /^BR[0-9a-fA-F]{32}$/;

export function isCallSid(s: string): boolean {
  return CALL_SID.test(s);
}

export function isAccountSid(s: string): boolean {
  return ACCOUNT_SID.test(s);
}

export function isStreamSid(s: string): boolean {
  return STREAM_SID.test(s);
}

/** A CallSid any channel can store: Twilio's CA… or the browser phone's BR…. */
export function isAnyCallSid(s: string): boolean {
  return CALL_SID.test(s) || BROWSER_CALL_SID.test(s);
}
