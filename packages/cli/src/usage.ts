import { parseArgs, type ParseArgsConfig } from 'node:util'

/** Wrong use of the command line: printed with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
  constructor(
    readonly command: string,
    detail: string,
  ) {
    super(`${detail}\nSee: proj ${command} --help`)
  }
}

/** A failure the user can act on (no database there, a bad input line): printed without a stack, exit code 1. */
export class CliError extends Error {
  override readonly name = 'CliError'
}

type Options = Record<string, { type: 'string' | 'boolean' }>

export interface Parsed<O extends Options> {
  values: { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string } & { help?: boolean }
  positionals: string[]
}

/**
 * node:util parseArgs, with its errors turned into UsageErrors that name the command. `positionals` names the
 * arguments the command reads, in order: one more was ignored, silently (`proj verify ./a ./b` checked ./a only).
 */
export function parse<O extends Options>(command: string, args: string[], options: O, positionals: string[]): Parsed<O> {
  let parsed: Parsed<O>
  try {
    const config: ParseArgsConfig = {
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    }
    parsed = parseArgs(config) as Parsed<O>
  } catch (error) {
    throw new UsageError(command, (error as Error).message)
  }
  if (parsed.positionals.length > positionals.length && !parsed.values.help) {
    // Counted, not quoted: a key pasted without --key in front would be repeated.
    const takes = positionals.length ? `takes ${positionals.join(' and ')}` : 'takes no arguments besides options'
    throw new UsageError(command, `proj ${command} ${takes}; got ${parsed.positionals.length} arguments (one without its --option in front?)`)
  }
  return parsed
}

/** A positive integer option, or `fallback` when absent. */
export function positiveInt(command: string, flag: string, value: string | undefined, fallback?: number): number | undefined {
  if (value === undefined) return fallback
  const number = Number(value)
  if (Number.isInteger(number) && number > 0) return number
  throw new UsageError(command, `--${flag} must be a positive integer, got ${JSON.stringify(value)}`)
}

export function printHelp(text: string): number {
  process.stdout.write(text)
  return 0
}
