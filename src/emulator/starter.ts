/**
 * A starter scenario written from a flow (`npm run scenario:new -- <flow>`): one turn per
 * function of each stage, with example arguments made from the function's parameter schema, a
 * move to the next stage where the stage may use go_to_stage, a goodbye with end_call, and a turn
 * for key presses; every line commented for the business to rewrite. The format is
 * docs/scenarios.md; the result parses with scenario.ts.
 */
import type { Flow } from '../flows/index.js';
import type { FunctionDeclaration, Schema } from '../gemini/protocol.js';

/** Built-ins the starter writes its own turns for. */
const BUILTINS = new Set(['go_to_stage', 'transfer_call', 'end_call']);

/** An example value for a parameter, from its schema (first enum value, format, name hints). */
export function exampleValue(schema: Schema, name = ''): unknown {
  if (schema.enum && schema.enum.length > 0) return schema.enum[0];
  switch (schema.type) {
    case 'STRING':
      return exampleString(schema, name);
    case 'INTEGER':
    case 'NUMBER':
      return schema.minimum !== undefined ? Math.max(schema.minimum, 1) : 1;
    case 'BOOLEAN':
      return true;
    case 'ARRAY':
      return schema.items ? [exampleValue(schema.items, name)] : [];
    case 'OBJECT':
      return exampleArgs(schema);
    default:
      return null;
  }
}

function exampleString(schema: Schema, name: string): string {
  const hint = `${name} ${schema.description ?? ''}`.toLowerCase();
  if (schema.format === 'date-time') return '2026-01-15T09:30:00Z';
  if (schema.format === 'date' || /yyyy-mm-dd|\bdate\b/.test(hint)) return '2026-01-15';
  if (/hh:mm|\btime\b/.test(hint)) return '09:30';
  if (/phone/.test(hint)) return '+15550100100';
  if (/number|reference|\bref|\bid\b|code/.test(hint)) return 'ABC123';
  if (/e-?mail/.test(hint)) return 'sam@example.com';
  if (/name/.test(hint)) return 'Sam Lee';
  return `example ${name || 'text'}`.trim();
}

/** Example arguments: every required parameter (all of them when none is marked required). */
export function exampleArgs(parameters: Schema | undefined): Record<string, unknown> {
  const props = parameters?.properties ?? {};
  const required = parameters?.required && parameters.required.length > 0 ? parameters.required : Object.keys(props);
  const args: Record<string, unknown> = {};
  for (const key of required) {
    const p = props[key];
    if (p) args[key] = exampleValue(p, key);
  }
  return args;
}

const q = (s: string): string => JSON.stringify(s);
const flowMap = (v: Record<string, unknown>): string => (Object.keys(v).length === 0 ? '{}' : `{ ${Object.entries(v).map(([k, x]) => `${k}: ${JSON.stringify(x)}`).join(', ')} }`);

function functionTurn(decl: FunctionDeclaration): string[] {
  const optional = Object.keys(decl.parameters?.properties ?? {}).filter((k) => !(decl.parameters?.required ?? []).includes(k));
  return [
    `  - say: ${q('One moment, let me check.')}`,
    `    # heard: ${q(`(the words of a caller who needs ${decl.name})`)}   # shown as what the caller said`,
    '    toolCalls:',
    `      - name: ${decl.name}`,
    `        args: ${flowMap(exampleArgs(decl.parameters))}${optional.length > 0 ? `   # optional: ${optional.join(', ')}` : ''}`,
    '    afterTool:            # {{output.<field>}} reads the result',
    `      say: ${q(`Done. ${decl.name} answered {{output}}.`)}`,
    '    afterToolError:       # {{error}} is what the function said went wrong',
    `      say: ${q("Sorry, that did not work: {{error}}")}`,
  ];
}

function stageTurns(flow: Flow, index: number, byName: ReadonlyMap<string, FunctionDeclaration>, used: Set<string>): string[] {
  const stage = flow.stages[index]!;
  const lines = ['', `  # --- stage "${stage.name}": ${stage.purpose.replace(/\s+/g, ' ')}`];
  for (const name of stage.functions) {
    const decl = byName.get(name);
    if (!decl || BUILTINS.has(name) || used.has(name)) continue;
    used.add(name);
    lines.push(...functionTurn(decl));
  }
  const next = flow.stages[index + 1];
  if (next && stage.functions.includes('go_to_stage')) {
    lines.push(
      `  - say: ${q('Sure, I can help with that.')}`,
      `    # heard: ${q(`(the words of a caller who needs ${next.name})`)}`,
      `    toolCalls: [{ name: go_to_stage, args: { name: ${next.name} } }]`,
    );
  }
  return lines;
}

/** The starter scenario's YAML for `flow`, given the function declarations the flow makes to the model. */
export function starterScenario(flow: Flow, declarations: readonly FunctionDeclaration[]): string {
  const byName = new Map(declarations.map((d) => [d.name, d]));
  const used = new Set<string>();
  const lines = [
    `# Emulator scenario of the flow "${flow.name}" (${flow.file}), written by npm run scenario:new -- ${flow.name}.`,
    '# What the offline emulator says when this flow is called without a Gemini key. Format: docs/scenarios.md.',
    '# The emulator cannot understand speech: each time the caller stops talking it takes the next turn',
    '# below without `match`. `heard` is what the transcript shows as the caller\'s words: write what your',
    '# test caller says; without it the transcript shows "(caller audio, N s)". The greeting is the',
    '# flow\'s own: callbridge asks for it word for word.',
    `name: ${flow.name}`,
    '# voice: en-us+f3        # espeak-ng voice for every line; default from the flow\'s voice',
    '',
    'turns:',
  ];
  flow.stages.forEach((_, i) => lines.push(...stageTurns(flow, i, byName, used)));
  const transfer = Object.keys(flow.transfers)[0];
  if (transfer && byName.has('transfer_call')) {
    lines.push('', '  # Said to the emulator as text when a key or the flow asks for it; uncomment to try a transfer.',
      `  # - match: "front desk|operator"`, '  #   repeatable: true', `  #   say: ${q('Let me put you through.')}`, `  #   toolCalls: [{ name: transfer_call, args: { target: ${transfer} } }]`);
  }
  if (byName.has('end_call')) {
    lines.push('', '  # --- the end of the call', `  - heard: ${q("No, that's all. Thank you!")}`, `    say: ${q('Thank you for calling. Goodbye!')}`,
      `    toolCalls: [{ name: end_call, args: { reason: ${q('the caller has what they needed')} } }]`);
  }
  lines.push('', '  # Keys the flow does not map reach the model as text: "The caller pressed 5."',
    '  - match: "pressed ([0-9*#])"', '    repeatable: true', `    say: ${q('You pressed {{match.1}}.')}`,
    '', '# After the last turn: say this again for every further utterance (or mode: silent).',
    'endOfScenario:', '  mode: repeat', `  say: ${q('Is there anything else I can help you with?')}`, '');
  return lines.join('\n');
}
