/** One subcommand of `proj`. */
export interface Command {
  name: string
  /** One line for `proj --help`. */
  summary: string
  /** The whole `proj <name> --help` text. */
  help: string
  /** Resolves with the exit code. */
  run(args: string[]): Promise<number>
}
