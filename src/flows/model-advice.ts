/**
 * flows:check advice about the flow's model, read from the model families
 * (src/gemini/families.ts; docs/gemini-live.md §6 and §2.4): a preview or legacy model is named
 * with what to use instead, and a function whose behaviour the model cannot honour is named with
 * what it will do there. Warnings only: the flow still runs (declarations are shaped per family).
 */
import { behaviorOn, familyOf } from '../gemini/families.js';
import { DEFAULT_MODEL } from '../gemini/models.js';
import type { ToolRegistry } from '../tools/registry.js';
import { parseBehavior, wireBehavior } from '../tools/modes.js';

type Path = (string | number)[];
type Rec = Record<string, unknown>;

const rec = (v: unknown): Rec => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export interface ModelWarning {
  path: Path;
  message: string;
}

/** Warnings about `model:`, `fallbackModels:` and the functions' behaviour on the flow's model. */
export function modelWarnings(file: Rec, registry: ToolRegistry): ModelWarning[] {
  const out: ModelWarning[] = [];
  const model = str(file.model);
  const family = familyOf(model ?? DEFAULT_MODEL);
  if (model !== undefined && family && family.status !== 'stable') {
    const kind = family.status === 'legacy-preview' ? 'a legacy preview model' : 'a preview model';
    out.push({ path: ['model'], message: `${model} is ${kind} (${family.label}); use ${family.useInstead ?? DEFAULT_MODEL}, and keep ${model} under fallbackModels if you want it as a fallback` });
  }
  const fallbacks = Array.isArray(file.fallbackModels) ? file.fallbackModels : [];
  fallbacks.forEach((m, i) => {
    const f = typeof m === 'string' ? familyOf(m) : undefined;
    if (f?.status === 'legacy-preview') out.push({ path: ['fallbackModels', i], message: `${m} is a legacy preview model (${f.label}); prefer ${f.useInstead ?? DEFAULT_MODEL} or a 2.5 native-audio model` });
  });
  const functions = Array.isArray(file.functions) ? file.functions : [];
  functions.forEach((entry, i) => {
    const name = typeof entry === 'string' ? entry : str(rec(entry).name);
    if (name === undefined) return;
    const own = rec(entry);
    const behavior = parseBehavior(own.behavior) ?? registry.get(name)?.behavior ?? 'blocking';
    const path: Path = typeof entry === 'string' ? ['functions', i] : ['functions', i, 'behavior'];
    if (own.scheduling !== undefined && behavior === 'blocking') {
      out.push({ path: ['functions', i, 'scheduling'], message: `scheduling only applies to non_blocking functions; ${name} is blocking, so the model waits for its answer and speaks it at once` });
    }
    if (!family) return;
    const wire = wireBehavior(behavior);
    const actual = behaviorOn(family, wire);
    if (actual === wire) return;
    const what = actual === 'BLOCKING'
      ? 'runs functions synchronously only: the bot waits silently for the answer'
      : 'runs functions asynchronously only: the bot may keep talking while it runs, and caller audio is not held';
    out.push({ path, message: `${name} is ${behavior}, but ${family.label} ${what} (it is declared ${actual})` });
  });
  return out;
}
