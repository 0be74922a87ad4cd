import type { Attachment, Database } from '@proj/core'
import { docToLine } from '../ndjson.js'
import { progress } from '../progress.js'
import { outputFile } from '../output-file.js'
import { openTarget, resolveTarget } from '../target.js'
import { parse, printHelp } from '../usage.js'
import type { Command } from './command.js'
import { targetHelp, targetOptions, write } from './shared.js'

const help = `Usage: proj dump <dir|url> [--name <database>] [--key <key>] [--out <file>] [--live]

Writes every document as one JSON line (NDJSON), in id order, to stdout or --out, reading page by page
(memory stays flat for any size). A deleted document is the line {"_id":"…","_deleted":true}, so loading
the dump into an older copy deletes it there too; --live leaves deletions out. Bytes (Uint8Array) are
written as DAG-JSON writes them: {"/":{"bytes":"<base64>"}}. Attachments (_files) are written with their
content, { type, data: <bytes>, lastModified }, so a line holds its document's files whole (read one
document at a time). proj load reads the file back, into this database or a new one.

${targetHelp}
  --out <file>        write here instead of stdout (in place of the file only once the dump is complete)
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
    const { values, positionals } = parse('dump', args, { ...targetOptions, out: { type: 'string' }, live: { type: 'boolean' } }, ['<dir|url>'])
    if (values.help) return printHelp(help)
    const target = resolveTarget('dump', positionals[0], values)
    const file = values.out ? outputFile(values.out) : undefined
    const out = file ? file.stream : process.stdout
    let opened
    try {
      opened = await openTarget(target)
    } catch (error) {
      await file?.abort()
      throw error
    }
    const bar = progress('dumping', { quiet: values.quiet ?? false })
    let count = 0
    let complete = false
    try {
      let since: Parameters<Database['changes']>[0]
      for (;;) {
        const page = await opened.db.changes(since, { limit: 500 })
        let chunk = ''
        for (const row of page.rows) {
          if (row.deleted && values.live) continue
          chunk += `${docToLine(row.deleted ? { _id: row.key, _deleted: true } : await withFileContent(row.value))}\n`
          count++
        }
        if (chunk) await write(out, chunk)
        bar.update({ done: count, unit: 'docs' })
        if (!page.next) break
        since = page.next
      }
      complete = true
    } finally {
      bar.end()
      await opened.close()
      if (file) await (complete ? file.commit() : file.abort())
    }
    if (values.out) process.stderr.write(`proj dump: ${count} documents of ${target.label} -> ${values.out}\n`)
    return 0
  },
}

/**
 * The document with each attachment's content in place of its reference: a reference names content stored in
 * this database only, so a dump loaded into another (a restore, a migration) would refuse it, and a dump
 * without the content would not be a backup of it.
 */
async function withFileContent(doc: Record<string, unknown>): Promise<Record<string, unknown>> {
  const files = doc._files as Record<string, unknown> | undefined
  if (files === null || typeof files !== 'object') return doc
  const inlined: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(files)) {
    const attachment = value as Partial<Attachment>
    if (typeof attachment?.file !== 'function') {
      inlined[name] = value
      continue
    }
    const data = new Uint8Array(await (await attachment.file()).arrayBuffer())
    inlined[name] = { type: attachment.type, data, ...(attachment.lastModified === undefined ? {} : { lastModified: attachment.lastModified }) }
  }
  return { ...doc, _files: inlined }
}
