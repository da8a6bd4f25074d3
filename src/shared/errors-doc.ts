/** Renders docs/ERRORS.md from the catalogue (kept in step by test/unit/errors.test.ts). */
import { ERRORS } from './errors.js';

export function renderErrorsDoc(): string {
  const lines = [
    '# Error codes',
    '',
    'Generated from `src/shared/errors.ts` by `npm run docs:errors`; do not edit by hand.',
    'Every code callbridge logs or records is listed here with what it means, what usually fixes it,',
    'and whether retrying can help.',
    '',
    '| code | what happened | likely fix | retryable |',
    '|---|---|---|---|',
  ];
  for (const [code, info] of Object.entries(ERRORS)) {
    const cell = (s: string) => s.replace(/\|/g, '\\|');
    lines.push(`| \`${code}\` | ${cell(info.explanation)} | ${cell(info.fix)} | ${info.retryable ? 'yes' : 'no'} |`);
  }
  return `${lines.join('\n')}\n`;
}
