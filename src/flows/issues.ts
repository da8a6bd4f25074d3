/**
 * zod issues → problems a person editing a flow file can act on (line, field, plain words), and
 * "did you mean" suggestions for misspelt names.
 */
import type { z } from 'zod';
import { KNOWN_FIELDS } from './schema.js';
import { problemAt, type FlowProblem, type ParsedSource } from './yaml-source.js';

const EXPECTED: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list (one "- " line per item, or [a, b])',
  object: 'a set of fields (name: value lines)',
  record: 'a set of fields (name: value lines)',
};

function describe(input: unknown): string {
  if (input === null) return 'nothing';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a set of fields';
  if (typeof input === 'string') return `"${input.length > 40 ? `${input.slice(0, 40)}…` : input}"`;
  return String(input);
}

function edits(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The closest candidate (case-insensitive, ≤ 2 edits or a prefix), as ` (did you mean "x"?)`, or ''. */
export function suggest(name: string, candidates: Iterable<string>): string {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const cl = c.toLowerCase();
    const score = cl === lower ? 0 : cl.startsWith(lower) && lower.length >= 3 ? 1 : edits(lower, cl);
    if (score < bestScore) {
      best = c;
      bestScore = score;
    }
  }
  return best !== undefined && bestScore <= Math.max(1, Math.min(2, Math.floor(name.length / 3))) ? ` (did you mean "${best}"?)` : '';
}

export function issueToProblems(src: ParsedSource, issue: z.core.$ZodIssue): FlowProblem[] {
  const path = issue.path as (string | number)[];
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((k) => problemAt(src, [...path, k], `unknown field "${k}"${suggest(k, KNOWN_FIELDS)}`, { key: true }));
    case 'invalid_type': {
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      if (issue.input === undefined) return [problemAt(src, path, 'is required but missing')];
      if (issue.input === null) return [problemAt(src, path, `is empty: write ${expected} after the colon`)];
      return [problemAt(src, path, `must be ${expected}, not ${describe(issue.input)}`)];
    }
    case 'invalid_value':
      return [problemAt(src, path, `must be ${issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`}, not ${describe(issue.input)}`)];
    case 'too_small':
      if (issue.origin === 'array') return [problemAt(src, path, `needs at least ${issue.minimum as number} item${issue.minimum === 1 ? '' : 's'}`)];
      if (issue.origin === 'string') return [problemAt(src, path, issue.message.startsWith('Too small') ? 'is too short' : issue.message)];
      return [problemAt(src, path, issue.message.startsWith('Too small') ? `must be at least ${issue.minimum as number}` : issue.message)];
    case 'too_big':
      if (issue.origin === 'array') return [problemAt(src, path, `has more than ${issue.maximum as number} items`)];
      return [problemAt(src, path, issue.message.startsWith('Too big') ? `must be at most ${issue.maximum as number}` : issue.message)];
    case 'invalid_union': {
      // zod reports every branch; the one whose issues are not just "wrong type" is what was meant.
      const branch = issue.errors.find((errs) => errs.some((e) => e.code !== 'invalid_type' || e.path.length > 0));
      if (branch) return branch.flatMap((e) => issueToProblems(src, { ...e, path: [...path, ...e.path] } as z.core.$ZodIssue));
      return [problemAt(src, path, issue.message)];
    }
    default:
      return [problemAt(src, path, issue.message)];
  }
}
