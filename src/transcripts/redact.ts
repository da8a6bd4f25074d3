/**
 * Redaction of stored call text (a per-writer / per-call option): masks long numbers — card
 * numbers, phone numbers, account and booking numbers, dates of birth — and keeps the short
 * numbers a conversation needs to stay readable (times, party sizes, prices, years, room numbers).
 *
 * The rule, for digits written as digits:
 *  - A *number run* is a sequence of digits where consecutive digits may be separated by up to
 *    three "joiner" characters: space, no-break space, hyphen, en dash, parentheses — so
 *    "4111 1111 1111 1111", "+44 (0)20 7946-0958" and "4 1 1 1 1" are each one run.
 *  - A dot joins when two or more digits follow it, except exactly two digits that end the
 *    number (decimal cents): "555.123.4567" is one run, "£250.00" stays readable.
 *  - Anything else ends a run: ":" keeps "9:30" and "19:30" apart, "," keeps "1,250" apart, "/"
 *    keeps "24/7" apart, letters keep "2 people" alone.
 *  - A run with 5 or more digits has every digit replaced by "•"; separators and a leading "+"
 *    stay, so the shape ("•••• •••• •••• ••••") still tells a card from a phone number.
 *  - Runs of 4 or fewer digits are kept: years ("2025"), times ("7 30"), short references.
 *  - Runs shaped like a date are kept ("2025-06-13", "13.06.2025", "13-06-2025"): reviewing a
 *    booking needs its date, and a date alone is far less sensitive than a card or phone number.
 * For digits spoken as words (speech transcripts sometimes spell numbers out): a run of 5 or
 * more digit words ("zero", "oh", "one" … "nine", "double", "triple"), separated by spaces,
 * commas or hyphens, is masked word by word ("oh seven seven double oh …" → "• • • • • …").
 *
 * Known limits: a number split by other words ("four one one, and then one one one…") is not
 * joined; 5-digit prices without separators ("12500 pounds") are masked; a date of birth said as
 * a date stays readable. Both err on the side of
 * privacy or readability in the cases that matter (card and phone numbers).
 *
 * In events: utterance, note and error text, function call arguments/results/errors (every string
 * inside; integers of 5+ digits become masked strings) are redacted. DTMF digits are stored as
 * "•" (a keypad entry is typically a card number or a PIN); "*" and "#" are kept, and menu
 * choices remain visible through the stage changes they cause. Transfer targets (the business's
 * own numbers) and the record's caller number are not touched: the UI masks the caller number
 * until asked, and logs follow the `pii` convention.
 */
import type { CallEventBody } from './types.js';

export const MASK = '•';
const MIN_DIGITS = 5;

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isJoiner(ch: string): boolean {
  return ch === ' ' || ch === '\u00a0' || ch === '-' || ch === '\u2013' || ch === '(' || ch === ')';
}

/** Index just past the joiners starting at i, if a digit follows them (else -1). */
function joinedDigitAt(text: string, i: number): number {
  if (text[i] === '.') {
    if (!isDigit(text.charCodeAt(i + 1)) || !isDigit(text.charCodeAt(i + 2))) return -1;
    const cents = !isDigit(text.charCodeAt(i + 3)) && !(text[i + 3] === '.' && isDigit(text.charCodeAt(i + 4)));
    return cents ? -1 : i + 1;
  }
  let j = i;
  while (j < text.length && j - i < 3 && isJoiner(text[j]!)) j++;
  return j > i && j < text.length && isDigit(text.charCodeAt(j)) ? j : -1;
}

const DATE_SHAPE = /^(?:\d{4}-\d{2}-\d{2}|\d{1,2}([.-])\d{1,2}\1(?:\d{4}|\d{2}))$/;

function maskDigitRuns(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (!isDigit(text.charCodeAt(i))) {
      out += text[i];
      i++;
      continue;
    }
    // A run starts at i; find its end (just past its last digit) and count its digits.
    let end = i;
    let digits = 0;
    let j = i;
    for (;;) {
      while (j < text.length && isDigit(text.charCodeAt(j))) {
        j++;
        digits++;
      }
      end = j;
      const next = joinedDigitAt(text, j);
      if (next === -1) break;
      j = next;
    }
    const run = text.slice(i, end);
    out += digits >= MIN_DIGITS && !DATE_SHAPE.test(run) ? run.replace(/\d/g, MASK) : run;
    i = end;
  }
  return out;
}

const DIGIT_WORD = '(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|double|triple)';
const DIGIT_WORD_RUN = new RegExp(`\\b${DIGIT_WORD}(?:[\\s,-]+${DIGIT_WORD}){${MIN_DIGITS - 1},}\\b`, 'gi');
const ONE_DIGIT_WORD = new RegExp(DIGIT_WORD, 'gi');

function maskDigitWordRuns(text: string): string {
  return text.replace(DIGIT_WORD_RUN, (run) => run.replace(ONE_DIGIT_WORD, MASK));
}

/** Masks long numbers in a piece of text (see the rule above). */
export function redactText(text: string): string {
  return maskDigitWordRuns(maskDigitRuns(text));
}

/** Redacts every string in a JSON-like value; integers of 5+ digits become masked strings. */
export function redactValue(value: unknown): unknown {
  if (typeof value === 'string') return redactText(value);
  if (typeof value === 'number') {
    return Number.isInteger(value) && Math.abs(value).toString().length >= MIN_DIGITS ? redactText(String(value)) : value;
  }
  if (Array.isArray(value)) return value.map(redactValue);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v)]));
  }
  return value;
}

/** A copy of the event with its personal text redacted. */
export function redactEvent(body: CallEventBody): CallEventBody {
  switch (body.kind) {
    case 'caller_utterance':
    case 'bot_utterance':
    case 'note':
      return { ...body, text: redactText(body.text) };
    case 'dtmf':
      return { ...body, digit: body.digit.replace(/\d/g, MASK) };
    case 'error':
      return { ...body, message: redactText(body.message) };
    case 'function_call': {
      const out = { ...body, args: redactValue(body.args) };
      if (body.result !== undefined) out.result = redactValue(body.result);
      if (body.error !== undefined) out.error = redactText(body.error);
      return out;
    }
    default:
      return body;
  }
}
