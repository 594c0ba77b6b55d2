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
