import { createReadStream, statSync } from 'node:fs'
import type { Database } from '@proj/core'
import { shapesOfLine } from '../import-shapes.js'
import { parseLine } from '../ndjson.js'
import { progress } from '../progress.js'
import { utf8Lines } from '../utf8-lines.js'
import { openTarget, resolveTarget } from '../target.js'
import { CliError, parse, positiveInt, printHelp } from '../usage.js'
import type { Command } from './command.js'
import { targetHelp, targetOptions } from './shared.js'

const help = `Usage: proj load <dir|url> [<file>] [--name <database>] [--key <key>] [--batch 1000]

Writes documents read line by line from <file> (or stdin, or -) into a database, one transaction per
batch, streaming (memory stays flat for any size). A local folder without a database gets a new one.
Into a URL or store folder the documents are written through a replica and pushed before exit.

Accepted input (one JSON value per line):
  proj dump output      {"_id":"a","title":"milk"}  and  {"_id":"b","_deleted":true}  (a deletion)
  plain NDJSON docs     a document without _id gets a new id
  PouchDB / CouchDB     _all_docs?include_docs=true (as CouchDB returns it, or one row per line),
                        _changes?include_docs=true rows: {"id":"a","doc":{…}}, {"id":"b","deleted":true}
  Fireproof             allDocs() rows {"key":"a","value":{…}}, or its docs one per line
  one JSON object       {"rows":[…]} on one line, e.g. JSON.stringify(await pouch.allDocs({ include_docs: true }))

PouchDB's _rev, _revisions, _conflicts and other bookkeeping is dropped; inline _attachments (exported with
attachments=true) become { content_type, data: bytes }; _design/ and _local/ documents are skipped.
Bytes written by proj dump ({"/":{"bytes":"…"}}) come back as Uint8Array.

A deletion removes the document when the database has it; a deletion of a document it never had writes
nothing, so nothing deleted comes back. A bad line stops the load with its line number; the batches
before it are written (loading the same file again is safe).

${targetHelp}
  --batch <n>         documents per transaction, default 1000

Examples:
  proj load ./data/restored < todos.ndjson
  curl -s 'http://localhost:5984/todos/_all_docs?include_docs=true' | proj load ./data/todos
  proj load http://127.0.0.1:8787 backup.ndjson --name todos --key z6Mk… --token s3cret
`

export const load: Command = {
  name: 'load',
  summary: 'write documents from NDJSON, PouchDB/CouchDB or Fireproof exports',
  help,
  async run(args) {
    const { values, positionals } = parse('load', args, { ...targetOptions, batch: { type: 'string' } }, ['<dir|url>', '<file>'])
    if (values.help) return printHelp(help)
    const batchSize = positiveInt('load', 'batch', values.batch, 1000)!
    const file = positionals[1] && positionals[1] !== '-' ? positionals[1] : undefined
    // Before the target: an input that cannot be read must not leave a new, empty database behind.
    const total = file ? inputSize(file) : undefined
    const target = resolveTarget('load', positionals[0], values, { create: true })
    const opened = await openTarget(target)
    const input = file ? createReadStream(file) : process.stdin
    const bar = progress('loading', { quiet: values.quiet ?? false })
    const counts = { written: 0, deleted: 0, absent: 0, skipped: 0 }
    let batch: { doc: Record<string, unknown>; line: number }[] = []
    const flush = async () => {
      if (!batch.length) return
      const written = await writeBatch(opened.db, batch)
      counts.written += written.written
      counts.deleted += written.deleted
      counts.absent += written.absent
      batch = []
    }
    let failure: unknown
    try {
      let lineNo = 0
      const lines = utf8Lines(input)
      for await (const line of lines) {
        lineNo++
        for (const parsed of shapesOfLine(line, lineNo, parseLine)) {
          if (parsed.kind === 'skip') counts.skipped++
          else batch.push({ doc: parsed.doc, line: lineNo })
        }
        if (batch.length >= batchSize) await flush()
        bar.update(total ? { done: (input as { bytesRead?: number }).bytesRead ?? 0, total, unit: 'bytes' } : { done: lineNo, unit: 'lines' })
      }
      await flush()
    } catch (error) {
      failure = error
    }
    bar.end()
    try {
      // Into a backend the batches written before a bad line are pushed too, as the help promises.
      if (opened.sync) await opened.sync.flush()
    } catch (error) {
      if (failure === undefined) failure = error
      else failure = new CliError(`${(failure as Error).message}; pushing the batches before it failed too: ${(error as Error).message}`)
    } finally {
      await opened.close()
    }
    if (failure !== undefined) throw failure
    process.stderr.write(
      `proj load: ${counts.written} documents written, ${counts.deleted} deleted` +
        `${counts.absent ? `, ${counts.absent} deletions of documents not there` : ''}` +
        `${counts.skipped ? `, ${counts.skipped} design/local documents skipped` : ''} into ${target.label}\n`,
    )
    return 0
  },
}

/** The size of the input file, or a CliError naming what is not a readable file. */
function inputSize(file: string): number | undefined {
  let stats
  try {
    stats = statSync(file)
  } catch (error) {
    throw new CliError(`Cannot read the input ${JSON.stringify(file)}: ${(error as Error).message}`)
  }
  if (stats.isDirectory()) throw new CliError(`The input ${JSON.stringify(file)} is a folder, not a file`)
  return stats.isFile() ? stats.size : undefined
}

/**
 * One transaction. A later line for the same id replaces an earlier one, as it would one batch later. A
 * deletion is written only for a document the database has live: deleting what it never had is an error
 * in core (NotFoundError) and would mean nothing.
 */
async function writeBatch(db: Database, batch: { doc: Record<string, unknown>; line: number }[]) {
  const byId = new Map<string, { doc: Record<string, unknown>; line: number }>()
  const fresh: { doc: Record<string, unknown>; line: number }[] = []
  for (const item of batch) {
    if (typeof item.doc._id === 'string') byId.set(item.doc._id, item)
    else fresh.push(item)
  }
  const deletions = [...byId.values()].filter(({ doc }) => doc._deleted === true).map(({ doc }) => doc._id as string)
  const live = new Set(deletions.length ? (await db.allDocs({ keys: deletions })).rows.map((row) => row.key) : [])
  const items = [...byId.values(), ...fresh].filter(({ doc }) => doc._deleted !== true || live.has(doc._id as string))
  if (items.length) {
    try {
      await db.bulk(items.map(({ doc }) => doc))
    } catch (error) {
      if (!(error instanceof TypeError)) throw error
      const first = batch[0]!.line
      const last = batch[batch.length - 1]!.line
      throw new CliError(`lines ${first}-${last}: ${error.message}; nothing of these lines was written, the lines before were`)
    }
  }
  return { written: items.length - live.size, deleted: live.size, absent: deletions.length - live.size }
}
