import { createWriteStream } from 'node:fs'
import { finished } from 'node:stream/promises'
import type { Database } from '@proj/core'
import { docToLine } from '../ndjson.js'
import { progress } from '../progress.js'
import { openTarget, resolveTarget } from '../target.js'
import { parse, printHelp } from '../usage.js'
import type { Command } from './command.js'
import { targetHelp, targetOptions, write } from './shared.js'

const help = `Usage: proj dump <dir|url> [--name <database>] [--key <key>] [--out <file>] [--live]

Writes every document as one JSON line (NDJSON), in id order, to stdout or --out, reading page by page
(memory stays flat for any size). A deleted document is the line {"_id":"…","_deleted":true}, so loading
the dump into an older copy deletes it there too; --live leaves deletions out. Bytes (Uint8Array) are
written as DAG-JSON writes them: {"/":{"bytes":"<base64>"}}. proj load reads the file back.

${targetHelp}
  --out <file>        write here instead of stdout
  --live              live documents only (no deletion lines)

Examples:
  proj dump ./data/todos > todos.ndjson
  proj dump http://127.0.0.1:8787 --name todos --key z6Mk… --out backup.ndjson
`

export const dump: Command = {
  name: 'dump',
  summary: 'every document as NDJSON (backups, migrations)',
  help,
  async run(args) {
    const { values, positionals } = parse('dump', args, { ...targetOptions, out: { type: 'string' }, live: { type: 'boolean' } })
    if (values.help) return printHelp(help)
    const target = resolveTarget('dump', positionals[0], values)
    const out = values.out ? createWriteStream(values.out) : process.stdout
    const opened = await openTarget(target)
    const bar = progress('dumping', { quiet: values.quiet ?? false })
    let count = 0
    try {
      let since: Parameters<Database['changes']>[0]
      for (;;) {
        const page = await opened.db.changes(since, { limit: 500 })
        let chunk = ''
        for (const row of page.rows) {
          if (row.deleted && values.live) continue
          chunk += `${docToLine(row.deleted ? { _id: row.key, _deleted: true } : row.value)}\n`
          count++
        }
        if (chunk) await write(out, chunk)
        bar.update({ done: count, unit: 'docs' })
        if (!page.next) break
        since = page.next
      }
    } finally {
      bar.end()
      await opened.close()
      if (out !== process.stdout) {
        out.end()
        await finished(out)
      }
    }
    if (values.out) process.stderr.write(`proj dump: ${count} documents of ${target.label} -> ${values.out}\n`)
    return 0
  },
}
