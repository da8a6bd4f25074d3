/**
 * The built-in functions every flow may allow in a stage (they must be listed to be allowed):
 * transfer_call, end_call and go_to_stage. They act on the call through CallControl; their
 * arguments are narrowed to the flow's own transfer names and stages.
 */
import { z } from 'zod';
import { ToolError } from './define.js';
import type { FlowFacts, Tool, ToolContext, ToolScheduling } from './types.js';

export const BUILTIN_NAMES = ['transfer_call', 'end_call', 'go_to_stage'] as const;
export type BuiltinName = (typeof BUILTIN_NAMES)[number];

export function isBuiltinName(name: string): name is BuiltinName {
  return (BUILTIN_NAMES as readonly string[]).includes(name);
}

/** A string enum of the names, or a plain string when there are none (the loader refuses that case). */
function oneOf(names: readonly string[]): z.ZodType<string> {
  return names.length > 0 ? z.enum(names as [string, ...string[]]) : z.string().min(1);
}

/**
 * Built-ins are blocking: the model waits for the hand-off or the new stage's instructions
 * instead of talking on. transfer_call and end_call answer silently where a family runs every
 * function non-blocking, so the bot never talks over the hand-off (docs/gemini-live.md §2.4).
 */
function builtin(
  name: BuiltinName,
  description: string,
  args: (flow: FlowFacts) => z.ZodType,
  run: (args: Record<string, string>, ctx: ToolContext) => Promise<unknown>,
  scheduling: ToolScheduling = 'when_idle',
): Tool {
  return {
    name,
    kind: 'builtin',
    description,
    source: 'built-in',
    timeoutMs: undefined,
    behavior: 'blocking',
    scheduling,
    args,
    run: (a, ctx) => run(a as Record<string, string>, ctx),
  };
}

const transferCall = builtin(
  'transfer_call',
  'Transfer the caller to a person or another phone line. First tell the caller you are transferring them, then call this. ' +
    'Use it when the caller asks for a person or when the stage instructions say so.',
  (flow) =>
    z.object({
      target: oneOf(flow.transfers).describe(`Where to transfer the caller. One of: ${flow.transfers.join(', ') || '(none)'}.`),
    }),
  async ({ target }, ctx) => {
    await ctx.control.transfer(target!);
    return { transferring: target };
  },
  'silent',
);

const endCall = builtin(
  'end_call',
  'End the phone call. Say goodbye first; call this only when the conversation is finished or the caller asked to hang up.',
  () => z.object({ reason: z.string().min(1).max(200).describe('Short reason, e.g. "caller said goodbye" or "appointment booked".') }),
  async ({ reason }, ctx) => {
    await ctx.control.endCall(reason!);
    return { ending: true };
  },
  'silent',
);

const goToStage = builtin(
  'go_to_stage',
  'Move the call to another stage when the caller wants something that stage handles. ' +
    'You then receive the new stage instructions; follow them.',
  (flow) => z.object({ name: oneOf(flow.stages).describe(`The stage to move to. One of: ${flow.stages.join(', ')}.`) }),
  async ({ name }, ctx) => {
    if (name === ctx.stage) throw new ToolError(`The call is already in the stage "${name}"; carry on with its instructions.`);
    await ctx.control.goToStage(name!);
    return { stage: name };
  },
);

const BUILTINS: readonly Tool[] = Object.freeze([transferCall, endCall, goToStage]);

export function builtinTools(): readonly Tool[] {
  return BUILTINS;
}
