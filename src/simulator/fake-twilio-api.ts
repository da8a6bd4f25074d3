/**
 * A local stand-in for Twilio's REST API call resource, for tests of call control:
 *   POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json  (form: Twiml | Url | Status)
 *   GET  the same path
 * It checks HTTP basic auth (AccountSid:AuthToken), records every request, answers like Twilio
 * (a JSON call resource, or Twilio's JSON error shape), and, when given the simulator's call
 * registry, makes the simulated call behave as Twilio does: new TwiML ends the media stream
 * (`stop`, then close) and runs the new TwiML; Status=completed ends the call.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SimulatedCall, SimulatedCallRegistry } from './call.js';

export interface FakeTwilioApiOptions {
  accountSid: string;
  authToken: string;
  /** Simulated calls to act on; without it requests are only recorded and answered. */
  calls?: SimulatedCallRegistry;
  host?: string;
  port?: number;
}

export interface RecordedRequest {
  method: string;
  /** Path and query as requested. */
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Raw body text. */
  body: string;
  /** Form fields (first value per name). */
  form: Record<string, string>;
  /** Basic auth matched the configured account. */
  authorized: boolean;
}

interface Failure {
  status: number;
  code: number;
  message: string;
}

const CALL_PATH = /^\/2010-04-01\/Accounts\/([^/]+)\/Calls\/([^/]+)\.json$/;

export class FakeTwilioApi {
  readonly requests: RecordedRequest[] = [];
  readonly #options: FakeTwilioApiOptions;
  readonly #server: http.Server;
  readonly #failures: Failure[] = [];
  #url = '';

  private constructor(options: FakeTwilioApiOptions) {
    this.#options = options;
    this.#server = http.createServer((req, res) => this.#handle(req, res));
  }

  /** Starts listening (127.0.0.1, a free port unless given). */
  static async start(options: FakeTwilioApiOptions): Promise<FakeTwilioApi> {
    const api = new FakeTwilioApi(options);
    await new Promise<void>((resolve, reject) => {
      api.#server.once('error', reject);
      api.#server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
    const { address, port } = api.#server.address() as AddressInfo;
    api.#url = `http://${address}:${port}`;
    return api;
  }

  /** The base URL to give the REST client (in place of https://api.twilio.com). */
  get url(): string {
    return this.#url;
  }

  /** The next call request fails with this Twilio-style error. */
  failNext(status: number, code: number, message: string): void {
    this.#failures.push({ status, code, message });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const form: Record<string, string> = {};
      for (const [k, v] of new URLSearchParams(body)) if (!(k in form)) form[k] = v;
      const expected = `Basic ${Buffer.from(`${this.#options.accountSid}:${this.#options.authToken}`).toString('base64')}`;
      const authorized = req.headers.authorization === expected;
      const path = req.url ?? '';
      this.requests.push({ method: req.method ?? '', path, headers: req.headers, body, form, authorized });
      this.#answer(req.method ?? '', path, form, authorized, res);
    });
  }

  #answer(method: string, path: string, form: Record<string, string>, authorized: boolean, res: http.ServerResponse): void {
    const send = (status: number, json: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(json));
    };
    const error = (status: number, code: number, message: string) =>
      send(status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
    if (!authorized) return error(401, 20003, 'Authenticate');
    const m = CALL_PATH.exec(path);
    if (!m) return error(404, 20404, 'The requested resource was not found');
    const [, accountSid, callSid] = m as unknown as [string, string, string];
    if (accountSid !== this.#options.accountSid) return error(404, 20404, `The requested resource ${path} was not found`);
    if (method !== 'POST' && method !== 'GET') return error(405, 20004, 'Method not allowed');
    const failure = this.#failures.shift();
    if (failure) return error(failure.status, failure.code, failure.message);
    const call = this.#options.calls?.get(callSid);
    if (this.#options.calls && !call) return error(404, 20404, `The requested resource ${path} was not found`);
    if (call?.over) return error(400, 21220, 'Call is not in-progress. Cannot redirect.');
    let status = 'in-progress';
    if (method === 'POST') {
      if (form['Status'] === 'completed') {
        call?.complete();
        status = 'completed';
      } else if (form['Twiml'] !== undefined) {
        call?.replaceTwiml(form['Twiml']);
      } else if (form['Url'] !== undefined) {
        const url = form['Url'].replace(/&/g, '&amp;').replace(/</g, '&lt;');
        call?.replaceTwiml(`<Response><Redirect method="${form['Method'] ?? 'POST'}">${url}</Redirect></Response>`);
      }
    }
    send(200, callResource(accountSid, callSid, status, call));
  }
}

function callResource(accountSid: string, callSid: string, status: string, call: SimulatedCall | undefined): Record<string, unknown> {
  const now = new Date().toUTCString().replace('GMT', '+0000');
  return {
    sid: callSid,
    account_sid: accountSid,
    api_version: '2010-04-01',
    status,
    direction: 'inbound',
    from: call?.from ?? null,
    to: call?.to ?? null,
    date_created: now,
    date_updated: now,
    start_time: now,
    end_time: status === 'completed' ? now : null,
    duration: null,
    price: null,
    price_unit: 'USD',
    parent_call_sid: null,
    answered_by: null,
    caller_name: null,
    uri: `/2010-04-01/Accounts/${accountSid}/Calls/${callSid}.json`,
    subresource_uris: {},
  };
}
