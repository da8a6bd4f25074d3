/**
 * A call's notifications in the review API (docs/after-call.md, "Notifications"), behind the same
 * admin guard as /api/calls:
 *
 *   GET  /api/calls/:sid/deliveries              every delivery of the call: event, endpoint,
 *                                                webhook-id, state, the payload sent, each attempt
 *   POST /api/calls/:sid/deliveries/:id/resend   send it again now: same webhook-id, same body (202)
 *
 * The call page shows them (ui/static/call-deliveries.js) with a Resend button.
 */
import type express from 'express';
import type { Request, Response } from 'express';
import type { Logger } from '../shared/log.js';
import type { Delivery } from '../transcripts/delivery-log.js';
import type { DeliveryView } from '../notify/notifier.js';
import { isAnyCallSid } from '../twilio/sids.js';
import { adminGuards } from './admin-guard.js';

/** What the routes need of the notifier (src/notify/notifier.ts). */
export interface NotifyApi {
  deliveriesOf(callSid: string): Promise<DeliveryView[]>;
  resend(callSid: string, deliveryId: number): Promise<Delivery | undefined>;
}

export interface NotifyRoutesDeps {
  notifier: NotifyApi;
  adminToken?: string | undefined;
  nodeEnv: string;
  log: Logger;
  /** The call's business time zone (as GET /api/calls/:sid gives it), for the page's times. */
  timeZoneOf?: (callSid: string) => Promise<string>;
}

type Handler = (req: Request, res: Response) => Promise<void>;

function safe(log: Logger, handler: Handler): Handler {
  return async (req, res) => {
    try {
      await handler(req, res);
    } catch (err) {
      log.error({ err, path: req.path }, 'notifications request failed');
      if (!res.headersSent) res.status(500).json({ error: 'internal', message: 'Reading the notifications failed; see the server log.' });
    }
  };
}

/** The :sid of the request, or undefined after answering 400. */
function sidOf(req: Request, res: Response): string | undefined {
  const sid = String(req.params.sid);
  if (isAnyCallSid(sid)) return sid;
  res.status(400).json({ error: 'bad_request', message: 'sid: not a call sid' });
  return undefined;
}

export function mountNotify(app: express.Express, deps: NotifyRoutesDeps): void {
  const { api } = adminGuards({ adminToken: deps.adminToken, nodeEnv: deps.nodeEnv, app });

  app.get('/api/calls/:sid/deliveries', api, safe(deps.log, async (req, res) => {
    const sid = sidOf(req, res);
    if (!sid) return;
    const deliveries = await deps.notifier.deliveriesOf(sid);
    res.json({ deliveries, ...(deps.timeZoneOf ? { timeZone: await deps.timeZoneOf(sid) } : {}) });
  }));

  app.post('/api/calls/:sid/deliveries/:id/resend', api, safe(deps.log, async (req, res) => {
    const sid = sidOf(req, res);
    if (!sid) return;
    const id = String(req.params.id);
    if (!/^\d{1,15}$/.test(id)) return void res.status(400).json({ error: 'bad_request', message: 'id: not a delivery id' });
    const delivery = await deps.notifier.resend(sid, Number(id));
    if (!delivery) return void res.status(404).json({ error: 'not_found', message: `call ${sid} has no delivery ${id}` });
    deps.log.info({ callSid: sid, webhookId: delivery.webhookId, event: delivery.event }, 'notification queued again (resend)');
    res.status(202).json({ delivery: { id: delivery.id, webhookId: delivery.webhookId, event: delivery.event, endpoint: delivery.endpoint, state: delivery.state } });
  }));
}
