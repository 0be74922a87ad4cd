import type { Command } from './commands/command.js'
import { dump } from './commands/dump.js'
import { exportCommand } from './commands/export.js'
import { inspect } from './commands/inspect.js'
import { load } from './commands/load.js'
import { serve } from './commands/serve.js'
import { verify } from './commands/verify.js'
import { UsageError } from './usage.js'

export const commands: Command[] = [serve, exportCommand, inspect, verify, dump, load]

const help = `Usage: proj <command> [options]     proj <command> --help for each command

proj works with encrypted, syncable @proj/core databases: a local database folder, a store folder, or a
proj serve URL. It never needs more than the database key, and never prints it.

Commands:
${commands.map((command) => `  ${command.name.padEnd(9)} ${command.summary}`).join('\n')}

Examples:
  proj serve --dir ./store --port 8787              a store for connect.http(db, 'http://127.0.0.1:8787')
  proj inspect ./data/todos                          what database('todos', { dir: './data' }) holds
  proj verify ./data/todos                           check every file; exit 1 naming any bad one
  proj dump ./data/todos > todos.ndjson              a backup; proj load ./data/copy < todos.ndjson restores it
  curl -s "$COUCH/db/_all_docs?include_docs=true" | proj load ./data/todos     migrate from CouchDB/PouchDB

Keys: pass --key or set PROJ_KEY (the string db.exportKey() returns). Progress lines go to stderr on a
terminal only (--quiet turns them off). Exit codes: 0 done, 1 failed (or verify found bad files), 2 bad usage.
`

/** Runs `proj <args>` and resolves with the exit code; output goes to stdout/stderr. */
export async function run(args: string[]): Promise<number> {
  const [name, ...rest] = args
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const command = name === 'help' ? commands.find((c) => c.name === rest[0]) : undefined
    if (name === 'help' && rest[0] !== undefined && !command) {
      // `proj help lod` printed the general help and exited 0, as if it had been asked for.
      process.stderr.write(`proj help: Unknown command ${JSON.stringify(rest[0])}; commands: ${commands.map((c) => c.name).join(', ')}\n`)
      return 2
    }
    process.stdout.write(command ? command.help : help)
    return name === undefined ? 2 : 0
  }
  const command = commands.find((c) => c.name === name)
  try {
    if (!command) throw new UsageError('', `Unknown command ${JSON.stringify(name)}; commands: ${commands.map((c) => c.name).join(', ')}`)
    return await command.run(rest)
  } catch (error) {
    const prefix = `proj${command ? ` ${command.name}` : ''}`
    if (error instanceof UsageError) {
      process.stderr.write(`${prefix}: ${error.message.replace('See: proj  --help', 'See: proj --help')}\n`)
      return 2
    }
    const failure = error as Error
    const name = failure?.name && !['Error', 'CliError'].includes(failure.name) ? `${failure.name}: ` : ''
    process.stderr.write(`${prefix}: ${name}${failure?.message ?? String(error)}\n`)
    if (process.env.PROJ_DEBUG) process.stderr.write(`${failure?.stack ?? ''}\n`)
    return 1
  }
}
