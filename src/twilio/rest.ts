/**
 * Call control over Twilio's REST API with the `twilio` package: replace a live call's TwiML
 * (transfers) and hang up (docs/twilio-media-streams.md §5). Failures become CallbridgeError
 * CB_TWILIO_REST_FAILED.
 *
 * Base URL override (tests point it at src/simulator/fake-twilio-api.ts; env TWILIO_API_BASE_URL):
 * twilio-node builds every request URL as `https://api.twilio.com/2010-04-01/…` (Domain.baseUrl,
 * then BaseTwilio.request adds edge/region to the host) and hands it to its `httpClient`, the
 * documented `ClientOpts.httpClient` hook. We pass a RequestClient subclass that swaps the origin
 * for the configured one just before sending; paths, auth, form encoding and error handling stay
 * twilio-node's own.
 */
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import type * as HttpResponse from 'twilio/lib/http/response.js';
import { CallbridgeError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';

/** A twilio-node RequestClient that sends every request to `baseUrl` instead of *.twilio.com. */
export class RebasedRequestClient extends twilio.RequestClient {
  readonly #base: URL;

  constructor(baseUrl: string, options: { timeoutMs?: number } = {}) {
    super(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs });
    this.#base = new URL(baseUrl);
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>): Promise<HttpResponse.default<TData>> {
    const target = new URL(opts.uri);
    const rebased = new URL(this.#base.href);
    rebased.pathname = this.#base.pathname.replace(/\/+$/, '') + target.pathname;
    rebased.search = target.search;
    return super.request({ ...opts, uri: rebased.href });
  }
}

export interface CallControlOptions {
  accountSid: string;
  authToken: string;
  /** Origin (optionally with a path prefix) replacing https://api.twilio.com, e.g. a local fake. */
  apiBaseUrl?: string;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
  log?: Logger;
}

/** The call resource fields callbridge reads back. */
export interface CallState {
  callSid: string;
  status: string;
}

export class TwilioCallControl {
  readonly #client: twilio.Twilio;
  readonly #log: Logger | undefined;

  constructor(options: CallControlOptions) {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const httpClient =
      options.apiBaseUrl === undefined
        ? new twilio.RequestClient({ timeout: timeoutMs })
        : new RebasedRequestClient(options.apiBaseUrl, { timeoutMs });
    this.#client = twilio(options.accountSid, options.authToken, { httpClient });
    this.#log = options.log;
  }

  /**
   * Replaces the live call's TwiML (e.g. a `<Dial>` transfer from twiml.ts). Twilio then ends the
   * media stream (`stop` + close) and runs the new TwiML. Don't also hang up when the stream
   * closes afterwards: that would end the transferred call.
   */
  async updateCallTwiml(callSid: string, twiml: string): Promise<CallState> {
    return this.#update(callSid, { twiml }, 'update TwiML');
  }

  /** Ends the call (status=completed works for in-progress and ringing calls). */
  async hangUp(callSid: string): Promise<CallState> {
    return this.#update(callSid, { status: 'completed' }, 'hang up');
  }

  async #update(callSid: string, params: { twiml?: string; status?: 'completed' }, what: string): Promise<CallState> {
    try {
      const call = await this.#client.calls(callSid).update(params);
      this.#log?.info({ callSid, status: call.status }, `Twilio call ${what}: done`);
      return { callSid: call.sid, status: call.status };
    } catch (err) {
      const e = err as { status?: unknown; code?: unknown; message?: unknown; moreInfo?: unknown };
      const detail: Record<string, unknown> = { callSid, operation: what };
      if (typeof e.status === 'number') detail['status'] = e.status;
      if (typeof e.code === 'number' || typeof e.code === 'string') detail['twilioCode'] = e.code;
      if (typeof e.moreInfo === 'string') detail['moreInfo'] = e.moreInfo;
      const message = `Twilio REST ${what} failed${typeof e.status === 'number' ? ` (HTTP ${e.status})` : ''}: ${typeof e.message === 'string' ? e.message : String(err)}`;
      this.#log?.warn({ code: 'CB_TWILIO_REST_FAILED', ...detail }, 'Twilio REST request failed');
      throw new CallbridgeError('CB_TWILIO_REST_FAILED', message, { cause: err, detail });
    }
  }
}
