/**
 * The seam between the Twilio edge (src/web/twilio-routes.ts) and the call bridge (src/call).
 * The edge verifies signatures and the per-call stream token; the handler decides what to do
 * with a call and drives its media stream.
 */
import type { TwilioMediaStream } from './media-stream.js';

export interface IncomingCall {
  callSid: string;
  accountSid: string;
  from: string;
  to: string;
  /** Every form field of the voice webhook (Twilio adds fields without notice). */
  params: Readonly<Record<string, string>>;
}

export type CallDecision =
  | { kind: 'stream'; parameters?: Record<string, string> } // the edge adds the per-call token itself
  | { kind: 'twiml'; twiml: string }; // e.g. closed hours, shutting down

export interface CallHandler {
  onIncomingCall(call: IncomingCall): CallDecision | Promise<CallDecision>;
  /** The stream's `start` was accepted and its token verified; attach listeners synchronously. */
  onStreamStart(stream: TwilioMediaStream): void;
  onStreamStatus?(status: { callSid: string; streamSid: string; event: string; error?: string }): void;
}
