import { formatBytes } from '../progress.js'
import { resolveTarget } from '../target.js'
import { parse, printHelp } from '../usage.js'
import type { Command } from './command.js'
import { inspectTarget } from './inspect.js'
import { targetHelp, targetOptions } from './shared.js'

const help = `Usage: proj verify <dir|url> [--name <database>] [--key <key>]

Checks every file of a database: its bytes hash to its name (CID), it decrypts with the key (AES-GCM),
its CAR parses and every block in it hashes to its CID; and every file a head or a file header names is
there. Lists each corrupt, missing or foreign-key file by name and exits 1 when there is any; exits 0
when all is well. For a URL or store folder, checks every file the backend's meta entries need.

A local database on a device that reads lazily from a backend may lack files the backend holds: they are
listed as a note, not a failure; verify the backend itself with its URL.

${targetHelp}

Examples:
  proj verify ./data/todos && echo intact
  proj verify http://127.0.0.1:8787 --name todos --key z6Mk…
`

export const verify: Command = {
  name: 'verify',
  summary: 'hash and decrypt every file; name anything corrupt or missing (exit 1)',
  help,
  async run(args) {
    const { values, positionals } = parse('verify', args, targetOptions, ['<dir|url>'])
    if (values.help) return printHelp(help)
    const target = resolveTarget('verify', positionals[0], values)
    const { report } = await inspectTarget(target, values.quiet ?? false, { docs: false })
    for (const problem of report.problems) process.stdout.write(`${problem.kind.padEnd(9)} ${problem.file}: ${problem.detail}\n`)
    if ('notLocal' in report && report.notLocal.length) {
      process.stdout.write(`note: ${report.notLocal.length} files the head needs are not stored here (a backend holds them; verify it with its URL):\n`)
      for (const file of report.notLocal) process.stdout.write(`  ${file}\n`)
    }
    const summary = `${report.files.count} files (${formatBytes(report.files.bytes)}, ${report.files.blocks} blocks) of ${target.label}`
    if (report.problems.length) {
      process.stderr.write(`proj verify: ${report.problems.length} bad files among ${summary}\n`)
      return 1
    }
    process.stdout.write(`ok: ${summary} verified\n`)
    return 0
  },
}
