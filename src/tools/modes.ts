/**
 * Function behaviour and response scheduling in the business's words (`blocking` /
 * `non_blocking`, `when_idle` / `interrupt` / `silent`) and on the wire (docs/gemini-live.md
 * §2.4: `behavior` BLOCKING | NON_BLOCKING on the declaration, `scheduling` WHEN_IDLE | INTERRUPT
 * | SILENT on a NON_BLOCKING call's response). Which of them a model family accepts is decided at
 * setup (src/gemini/families.ts); here every declaration just says what the business wants.
 */
import type { FunctionDeclaration, FunctionResponseScheduling } from '../gemini/protocol.js';
import { DEFAULT_TOOL_MODE, TOOL_BEHAVIORS, TOOL_SCHEDULINGS, type ToolBehavior, type ToolMode, type ToolScheduling } from './types.js';

/** 'blocking' | 'non_blocking' (also the wire spellings BLOCKING / NON_BLOCKING); undefined when not one of them. */
export function parseBehavior(value: unknown): ToolBehavior | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.toLowerCase();
  return (TOOL_BEHAVIORS as readonly string[]).includes(v) ? (v as ToolBehavior) : undefined;
}

/** 'when_idle' | 'interrupt' | 'silent' (also upper case); undefined when not one of them. */
export function parseScheduling(value: unknown): ToolScheduling | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.toLowerCase();
  return (TOOL_SCHEDULINGS as readonly string[]).includes(v) ? (v as ToolScheduling) : undefined;
}

export function wireBehavior(behavior: ToolBehavior): 'BLOCKING' | 'NON_BLOCKING' {
  return behavior === 'blocking' ? 'BLOCKING' : 'NON_BLOCKING';
}

export function wireScheduling(scheduling: ToolScheduling): Exclude<FunctionResponseScheduling, 'SCHEDULING_UNSPECIFIED'> {
  return scheduling === 'when_idle' ? 'WHEN_IDLE' : scheduling === 'interrupt' ? 'INTERRUPT' : 'SILENT';
}

/** A mode from optional parts, with the defaults (blocking; when_idle). */
export function toolMode(behavior?: ToolBehavior, scheduling?: ToolScheduling): ToolMode {
  return { behavior: behavior ?? DEFAULT_TOOL_MODE.behavior, scheduling: scheduling ?? DEFAULT_TOOL_MODE.scheduling };
}

/**
 * Declarations with a flow's per-function overrides applied (`behavior` of the named functions);
 * the others unchanged. A new array; the input is not modified.
 */
export function withModes(declarations: readonly FunctionDeclaration[], modes: Readonly<Record<string, Partial<ToolMode>>> | undefined): FunctionDeclaration[] {
  return declarations.map((d) => {
    const behavior = modes?.[d.name]?.behavior;
    return behavior === undefined ? d : { ...d, behavior: wireBehavior(behavior) };
  });
}
