/**
 * Running a call's post-call analysis again from the review UI (docs/after-call.md), behind the
 * same admin guard as /api/calls (a state-changing request from another site is refused):
 *
 *   POST /api/calls/:sid/analyse   queue the analysis again now (202 with `analysis` pending);
 *                                  404 for an unknown call, 409 while the call is in progress
 *
 * The call page's Analysis panel has the button (ui/static/analysis-panel.js); the CLI does the
 * same with `npm run calls -- analyse`.
 */
import type express from 'express';
import type { Logger } from '../shared/log.js';
import type { CallAnalysis, TranscriptStore } from '../transcripts/index.js';
import { isAnyCallSid } from '../twilio/sids.js';
import { adminGuards } from './admin-guard.js';

export interface AnalysisRoutesDeps {
  store: Pick<TranscriptStore, 'getCall'>;
  afterCall: { reanalyse(callSid: string): Promise<void>; analysisOf(callSid: string): Promise<CallAnalysis | undefined> };
  adminToken?: string | undefined;
  nodeEnv: string;
  log: Logger;
}

export function mountAnalysis(app: express.Express, deps: AnalysisRoutesDeps): void {
  const { api } = adminGuards({ adminToken: deps.adminToken, nodeEnv: deps.nodeEnv, app });
  app.post('/api/calls/:sid/analyse', api, (req, res) => {
    const sid = String(req.params.sid);
    if (!isAnyCallSid(sid)) return void res.status(400).json({ error: 'bad_request', message: 'sid: not a call sid' });
    void (async () => {
      const record = await deps.store.getCall(sid);
      if (!record) return void res.status(404).json({ error: 'not_found', message: `no call ${sid}` });
      if (record.outcome === 'in_progress') return void res.status(409).json({ error: 'in_progress', message: 'the call has not ended yet; it is analysed when it ends' });
      await deps.afterCall.reanalyse(sid);
      deps.log.info({ callSid: sid }, 'post-call analysis queued again (review UI)');
      res.status(202).json({ analysis: await deps.afterCall.analysisOf(sid) });
    })().catch((err: unknown) => {
      deps.log.error({ err, callSid: sid }, 'queueing the analysis again failed');
      if (!res.headersSent) res.status(500).json({ error: 'internal', message: 'Queueing the analysis failed; see the server log.' });
    });
  });
}
