// Command-line parsing with the house conventions, so every command behaves the same:
// -h/--help prints the command's help, and a bad flag is a usage error (exit 2) showing it.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

const helpOption = { help: { type: 'boolean', short: 'h' } } as const;

/** The parsed command line, or null when help was asked for (and printed). */
export function parseCommandLine<O extends Options>(argv: string[], options: O, help: string, allowPositionals = true) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals, strict: true, options: { ...options, ...helpOption } });
  } catch (err) {
    throw new CliError('usage', `${(err as Error).message}\n\n${help}`, 2);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(help);
    return null;
  }
  return parsed;
}

/** What a numeric flag accepts. */
export interface NumberRule {
  min?: number;
  max?: number;
  integer?: boolean;
  multipleOf?: number;
  /** min is excluded (e.g. "a positive number"). */
  exclusiveMin?: boolean;
}

/** Plain decimal notation only: '', ' 1', '0x10', 'Infinity' and '1_000' are not flag values. */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

function describeRule(r: NumberRule): string {
  const kind = r.integer ? 'an integer' : 'a number';
  const lo = r.min === undefined ? undefined : `${r.exclusiveMin ? '>' : '≥'} ${r.min}`;
  let text: string;
  if (lo && r.max !== undefined && !r.exclusiveMin) text = `${kind} in ${r.min}..${r.max}`;
  else if (lo && r.max !== undefined) text = `${kind} ${lo} and ≤ ${r.max}`;
  else if (lo) text = `${kind} ${lo}`;
  else if (r.max !== undefined) text = `${kind} ≤ ${r.max}`;
  else text = kind;
  return r.multipleOf ? `${text}, a multiple of ${r.multipleOf}` : text;
}

/**
 * A numeric flag's value, checked: a value that is not a plain decimal number, or breaks the
 * rule, is a usage error (exit 2, code bad_argument) naming the flag, the rule and the value.
 * Without `fallback`, an absent flag gives undefined.
 */
export function numberFlag(name: string, raw: string | undefined, rule: NumberRule): number | undefined;
export function numberFlag(name: string, raw: string | undefined, rule: NumberRule, fallback: number): number;
export function numberFlag(name: string, raw: string | undefined, rule: NumberRule, fallback?: number): number | undefined {
  if (raw === undefined) return fallback;
  const v = DECIMAL.test(raw.trim()) && raw.trim() === raw ? Number(raw) : NaN;
  const ok =
    Number.isFinite(v) &&
    (!rule.integer || Number.isInteger(v)) &&
    (rule.min === undefined || (rule.exclusiveMin ? v > rule.min : v >= rule.min)) &&
    (rule.max === undefined || v <= rule.max) &&
    (!rule.multipleOf || v % rule.multipleOf === 0);
  if (!ok) throw new CliError('bad_argument', `--${name} must be ${describeRule(rule)}, got '${raw}'`, 2);
  return v;
}
