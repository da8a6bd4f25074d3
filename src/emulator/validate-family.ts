/**
 * The setup rules that differ by model family (docs/gemini-live.md §2.1, §2.4, §2.5, §6): the
 * thinkingConfig shape, proactive audio, affective dialog, function `behavior` values, the
 * `contextUpdate` message, and clientContent on 3.1. A violation is closed with 1007, the code the service uses for a bad
 * setup (§7). The reason texts are APPROXIMATE: the model pages say these settings "return an
 * error" or must be removed, but quote no close text, so the emulator sends the service's generic
 * 1007 text (`Request contains an invalid argument.`) and says which rule fired in `why` (kept in
 * the session record, not sent).
 */
import type { Setup } from '../gemini/protocol.js';
import { CLOSE_INVALID_ARGUMENT, REASONS, close, unknownFieldReason, type CloseSpec } from './close-reasons.js';
import { rulesOf, type FamilyRules, type ModelSpec } from './models.js';

/** A rejection with the rule that fired (for the record and for tests). */
export type FamilyRejection = CloseSpec & { why: string };

function reject(why: string): FamilyRejection {
  return { ...close(CLOSE_INVALID_ARGUMENT, REASONS.invalidArgument), why };
}

interface Declaration {
  name?: string;
  behavior?: string;
}

/** The function declarations of a tool list (setup.tools or contextUpdate.tools.tools). */
export function declarationsOf(tools: readonly unknown[] | undefined): Declaration[] {
  const out: Declaration[] = [];
  for (const tool of tools ?? []) {
    const decls = (tool as { functionDeclarations?: unknown }).functionDeclarations;
    if (Array.isArray(decls)) out.push(...(decls as Declaration[]));
  }
  return out;
}

/** Function `behavior` values the family does not allow (3.1: synchronous only; 3.8 thinking: asynchronous only). §2.4 */
export function checkBehaviors(tools: readonly unknown[] | undefined, rules: FamilyRules): FamilyRejection | undefined {
  for (const d of declarationsOf(tools)) {
    const b = d.behavior;
    if (b === undefined || b === 'UNSPECIFIED') continue;
    if (!(rules.behaviors as readonly string[]).includes(b)) {
      return reject(`function ${d.name ?? '?'}: behavior ${b} is not supported by the ${rules.id} family (allowed: ${rules.behaviors.join(', ')})`);
    }
  }
  return undefined;
}

function checkThinking(setup: Setup, rules: FamilyRules): FamilyRejection | undefined {
  const tc = setup.generationConfig?.thinkingConfig as { thinkingBudget?: number; thinkingLevel?: string } | undefined;
  if (tc === undefined) return undefined;
  if (rules.thinking === 'none') return reject(`thinkingConfig is not supported by the ${rules.id} family: omit it`);
  const level = tc.thinkingLevel === 'THINKING_LEVEL_UNSPECIFIED' ? undefined : tc.thinkingLevel;
  if (tc.thinkingBudget !== undefined && level !== undefined) return reject('thinkingConfig: set thinkingBudget or thinkingLevel, not both');
  if (rules.thinking === 'budget' && level !== undefined) return reject(`thinkingLevel is not supported by the ${rules.id} family: use thinkingBudget`);
  if (rules.thinking === 'level') {
    if (tc.thinkingBudget !== undefined) return reject(`thinkingBudget is not supported by the ${rules.id} family: use thinkingLevel`);
    if (level !== undefined && !(rules.thinkingLevels as readonly string[]).includes(level)) {
      return reject(`thinkingLevel ${level} is not supported by the ${rules.id} family (allowed: ${rules.thinkingLevels.join(', ')})`);
    }
  }
  return undefined;
}

function checkDialogFeatures(setup: Setup, rules: FamilyRules): FamilyRejection | undefined {
  const proactive = (setup as { proactivity?: { proactiveAudio?: boolean } }).proactivity?.proactiveAudio;
  if (rules.proactiveAudio === 'unsupported' && proactive === true) return reject(`proactive audio is not supported by the ${rules.id} family`);
  if (rules.proactiveAudio === 'always-on' && proactive === false) return reject(`proactive audio is always on in the ${rules.id} family: proactiveAudio: false is refused`);
  const affective = (setup.generationConfig as { enableAffectiveDialog?: boolean } | undefined)?.enableAffectiveDialog;
  if (rules.affectiveDialog === 'unsupported' && affective === true) return reject(`affective dialog is not supported by the ${rules.id} family`);
  if (rules.affectiveDialog === 'removed' && affective !== undefined) return reject(`enableAffectiveDialog was removed in the ${rules.id} family: remove the field`);
  return undefined;
}

/** The family rules a setup breaks, if any. */
export function checkFamilySetup(setup: Setup, spec: ModelSpec): FamilyRejection | undefined {
  const rules = rulesOf(spec);
  return checkThinking(setup, rules) ?? checkDialogFeatures(setup, rules) ?? checkBehaviors(setup.tools, rules);
}

/** A `contextUpdate` message: the family must accept the message at all, and its tools must suit it. §2.5 */
export function checkContextUpdate(update: ContextUpdate, spec: ModelSpec): FamilyRejection | undefined {
  const rules = rulesOf(spec);
  if (!rules.contextUpdate) {
    // UNCONFIRMED: the message exists only for the families whose pages promise mid-session context
    // changes; older backends are assumed to parse it like any unknown field (§2.5).
    return { ...close(CLOSE_INVALID_ARGUMENT, unknownFieldReason('contextUpdate', '')), why: `contextUpdate is not accepted by the ${rules.id} family` };
  }
  return checkBehaviors(update.tools?.tools, rules);
}

/**
 * clientContent on a family where it only seeds history (3.1, §2.2): refused without
 * historyConfig.initialHistoryInClientContent, and once the model has taken a turn. Third-party
 * clients saw both closed with 1007 `Request contains an invalid argument.`
 */
export function checkClientContent(setup: Setup, spec: ModelSpec, modelTurns: number): FamilyRejection | undefined {
  const rules = rulesOf(spec);
  if (rules.clientContent === 'any') return undefined;
  const history = (setup as { historyConfig?: { initialHistoryInClientContent?: boolean } }).historyConfig;
  if (history?.initialHistoryInClientContent !== true) {
    return reject(`clientContent on the ${rules.id} family needs historyConfig.initialHistoryInClientContent: true (it only seeds history)`);
  }
  if (modelTurns > 0) return reject(`clientContent after the model's first turn is refused by the ${rules.id} family: send realtimeInput.text`);
  return undefined;
}

/** `{contextUpdate: {systemInstruction?, tools?: {tools: Tool[]}}}` as parsed (camelCase). §2.5 */
export interface ContextUpdate {
  systemInstruction?: { parts?: { text?: string }[] };
  /** A wrapper so that "no update" and "clear all tools" differ (js-genai LiveClientContextUpdateTools). */
  tools?: { tools?: unknown[] };
}
