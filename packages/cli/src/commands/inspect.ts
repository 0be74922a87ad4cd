import { inspectBackend, inspectLocal, type BackendReport, type LocalReport } from '@proj/core'
import { formatBytes, progress } from '../progress.js'
import { openTarget, resolveTarget, type Target } from '../target.js'
import { parse, printHelp } from '../usage.js'
import type { Command } from './command.js'
import { countDocs, targetHelp, targetOptions } from './shared.js'

const help = `Usage: proj inspect <dir|url> [--name <database>] [--key <key>] [--json]

Shows what a database holds: documents (live and deleted), clock heads, files and bytes, indexes and,
for a local database, per backend it synced with, what is not uploaded yet. Reads every file to count it,
and checks each one on the way (hash, decryption, blocks) as proj verify does. Changes nothing.

${targetHelp}
  --json              print the report as JSON

Examples:
  proj inspect ./data/todos
  proj inspect http://127.0.0.1:8787 --name todos --key z6Mk…
`

export interface Inspection {
  target: Target
  report: LocalReport | BackendReport
  docs: { live: number; deleted: number } | { error: string }
}

/** The report behind inspect and verify: the stored files (core's inspectLocal / inspectBackend), then the docs. */
export async function inspectTarget(target: Target, quiet: boolean, options: { docs: boolean }): Promise<Inspection> {
  const bar = progress('checking files', { quiet })
  const onProgress = (p: { done: number; total: number; bytes: number }) => bar.update(p)
  const branch = target.branch ? { branch: target.branch } : {}
  let report: LocalReport | BackendReport
  try {
    report =
      target.kind === 'local'
        ? await inspectLocal(target.name, { dir: target.dir, ...(target.key ? { key: target.key } : {}), ...branch, onProgress })
        : await inspectBackend(target.connector, target.name, { key: target.key, ...branch, onProgress })
  } finally {
    bar.end()
  }
  let docs: Inspection['docs'] = { error: 'not read' }
  if (options.docs) {
    const counting = progress('reading documents', { quiet })
    try {
      const opened = await openTarget(target)
      try {
        docs = await countDocs(opened.db, (done) => counting.update({ done, unit: 'docs' }))
      } finally {
        await opened.close()
      }
    } catch (error) {
      docs = { error: (error as Error).message }
    } finally {
      counting.end()
    }
  }
  return { target, report, docs }
}

export const inspect: Command = {
  name: 'inspect',
  summary: 'documents, heads, files, bytes, indexes and what is not uploaded yet',
  help,
  async run(args) {
    const { values, positionals } = parse('inspect', args, { ...targetOptions, json: { type: 'boolean' } }, ['<dir|url>'])
    if (values.help) return printHelp(help)
    const target = resolveTarget('inspect', positionals[0], values)
    const { report, docs } = await inspectTarget(target, values.quiet ?? false, { docs: true })
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ ...report, docs }, null, 2)}\n`)
      return 0
    }
    const lines: [string, string][] = []
    if ('location' in report) lines.push(['database', `${report.name} (${report.location}), branch ${report.branch}`])
    // The backend as given (a URL, a store folder), not the connector's id: that read "at http:http://…".
    else lines.push(['database', `${target.label}, branch ${report.branch}`])
    lines.push(['docs', 'error' in docs ? `unreadable: ${docs.error}` : `${docs.live} live, ${docs.deleted} deleted`])
    lines.push(['heads', report.heads.length ? `${report.heads.length} (height ${report.height}): ${report.heads.join(', ')}` : 'none (no writes yet)'])
    if ('unmerged' in report && report.unmerged) lines.push(['', `${report.unmerged} more stored by other instances, merged on the next open`])
    if ('entries' in report) {
      const { count, foreign, unreadable } = report.entries
      lines.push(['meta', `${count} entries${foreign ? `, ${foreign} sealed with another key` : ''}${unreadable ? `, ${unreadable} unreadable` : ''}`])
    }
    lines.push(['files', `${report.files.count} (${formatBytes(report.files.bytes)}), ${report.files.blocks} blocks`])
    if ('notLocal' in report) {
      if (report.notLocal.length) lines.push(['', `${report.notLocal.length} more the head needs live only at a backend (read on demand)`])
      lines.push(['indexes', report.indexes.length ? report.indexes.map((index) => `${index.name} (${index.kind})`).join(', ') : 'none'])
      if (!report.backends.length) lines.push(['backends', report.replicated ? 'none recorded for this branch' : 'never synced'])
      report.backends.forEach((backend, i) => {
        const pending = backend.pending.files
          ? `${backend.pending.files} files (${formatBytes(backend.pending.bytes)}) not uploaded yet`
          : 'holds everything'
        lines.push([i === 0 ? 'backends' : '', `${backend.connector} ${backend.idHash}: ${pending}`])
      })
    }
    lines.push(['problems', report.problems.length ? `${report.problems.length} (run proj verify to list them)` : 'none'])
    for (const [label, text] of lines) process.stdout.write(`${label.padEnd(10)}${text}\n`)
    return 0
  },
}
