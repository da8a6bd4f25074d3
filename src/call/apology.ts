/**
 * When the voice agent is gone for good: the caller hears a short recorded apology (played
 * through the same playout tracking as the agent's voice), then the flow's choice is carried out
 * through the one exit path — hang up, or transfer to one of its targets when the caller's
 * transport can transfer.
 */
import type { Flow } from '../flows/index.js';
import type { CallbridgeError } from '../shared/errors.js';
import type { BotOutput } from './bot-output.js';
import { withTimeout } from './clock.js';
import type { Exits } from './exit.js';
import type { CallerTransport, Clock } from './ports.js';
import type { Prompt } from './prompts.js';

/** Extra time the apology may take to be confirmed played before the call goes on without it. */
const APOLOGY_PLAYOUT_GRACE_MS = 5000;

export interface ApologyDeps {
  flow: Flow;
  transport: CallerTransport;
  bot: BotOutput;
  exits: Exits;
  clock: Clock;
  prompts: { apology: Prompt; apologyTransfer: Prompt };
  ended(): boolean;
}

export function playApology(d: ApologyDeps, failure: CallbridgeError): void {
  d.bot.playout.interrupt();
  const then = d.flow.agentUnavailable.then;
  const transfer = then !== 'hangup' && d.transport.capabilities.transfer ? { target: then.transfer, number: d.flow.transfers[then.transfer]! } : undefined;
  const apology = transfer ? d.prompts.apologyTransfer : d.prompts.apology;
  d.bot.prompt('apology', apology.mulaw);
  void withTimeout(d.clock, d.bot.whenPlayed('apology'), apology.durationMs + APOLOGY_PLAYOUT_GRACE_MS).then(() => {
    if (d.ended()) return;
    const exit = { reason: 'voice agent unavailable', errorCode: failure.code, agentUnavailable: true } as const;
    d.exits.now(transfer ? { kind: 'transfer', target: transfer.target, number: transfer.number, ...exit } : { kind: 'end', ...exit });
  });
}
