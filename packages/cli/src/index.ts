/**
 * The `proj` command as a function, for scripts and tests: `await run(['verify', './data/todos'])` resolves
 * with the exit code the command would exit with. The command itself is the `proj` bin.
 */
export { run, commands } from './main.js'
export type { Command } from './commands/command.js'
