/**
 * Standalone check of Fireproof's W6 (reopen) and W9 (put after reopen), set up as the bench sets them up: one
 * `bulk` of N docs into a file store (`FP_STORAGE_URL=file://<dir>`), `close()`, open the same name again, `get`
 * the middle doc, count all docs, then one `put`. Each step runs in this process; `--fresh` does the reopen in a
 * new process instead (as W6 does).
 *
 *   node --import tsx apps/bench/repro/fireproof-reopen.ts [--n 10000] [--fresh] [--settle 0]
 *
 * Last line of stdout is JSON { system, confirmedFailure, ... }. Exit 0: the reopened ledger has every doc and takes
 * a put; 2: a failure is confirmed; 1: the repro itself broke.
 */
import { fireproof } from '@fireproof/core'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const argv = process.argv.slice(2)
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback
}
const N = Number(opt('n', '10000'))
const idOf = (i: number) => `doc-${String(i).padStart(7, '0')}`

/** The reopen half: open, get the middle doc, count, put one. */
async function reopen(dir: string): Promise<Record<string, unknown>> {
  process.env.FP_STORAGE_URL = `file://${dir}`
  const db = fireproof('repro')
  const out: Record<string, unknown> = {}
  const middle = idOf(Math.floor(N / 2))
  out.getMiddle = await db.get(middle).then(
    (d) => ((d as { n?: number }).n === Math.floor(N / 2) ? 'ok' : `wrong doc ${JSON.stringify(d)}`),
    (e: Error) => `error: ${String(e.message).slice(0, 200)}`,
  )
  out.count = await db.allDocs().then(
    (r) => r.rows.length,
    (e: Error) => `error: ${String(e.message).slice(0, 200)}`,
  )
  out.putAfterReopen = await db.put({ _id: 'after-reopen', n: -1 }).then(
    () => 'ok',
    (e: Error) => `error: ${String(e.message).slice(0, 200)}`,
  )
  await db.close()
  return out
}

if (argv[0] === '--reopen-only') {
  console.log(JSON.stringify({ reopened: await reopen(argv[1]!) }))
  process.exit(0)
}

const dir = mkdtempSync(join(os.tmpdir(), 'repro-fireproof-reopen-'))
const report: Record<string, unknown> = { system: '@fireproof/core 0.24.19 file store', n: N, fresh: argv.includes('--fresh'), settleS: Number(opt('settle', '0')) }
let exitCode = 1
try {
  process.env.FP_STORAGE_URL = `file://${dir}`
  const db = fireproof('repro')
  await db.bulk(Array.from({ length: N }, (_, i) => ({ _id: idOf(i), n: i, body: 'x'.repeat(150) })))
  report.countBeforeClose = (await db.allDocs()).rows.length
  // --settle S: wait S seconds before close (background work after bulk resolved gets time to finish).
  await new Promise((r) => setTimeout(r, Number(opt('settle', '0')) * 1000))
  await db.close()
  let reopened: Record<string, unknown>
  if (argv.includes('--fresh')) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--reopen-only', dir, '--n', String(N)], { encoding: 'utf8' })
    const line = (r.stdout ?? '').split('\n').filter((l) => l.startsWith('{"reopened"')).pop()
    reopened = line ? (JSON.parse(line) as { reopened: Record<string, unknown> }).reopened : { error: `child exit ${r.status}` }
  } else reopened = await reopen(dir)
  Object.assign(report, reopened)
  report.confirmedFailure = reopened.getMiddle !== 'ok' || reopened.count !== N || reopened.putAfterReopen !== 'ok'
  exitCode = report.confirmedFailure ? 2 : 0
} catch (e) {
  report.reproError = String((e as Error).stack ?? e).slice(0, 500)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
console.log(JSON.stringify(report))
process.exit(exitCode)
