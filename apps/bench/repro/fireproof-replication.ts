/**
 * Standalone check of Fireproof's own offline sync, set up as Fireproof's tests set it up
 * (core/tests/fireproof/attachable.test.ts, `syncDb` + `AJoinable`): both ledgers use the same named store key
 * (`storekey=@fireproof:attach@`) locally and on the shared store, and the shared store reflects meta
 * writes to subscribers in this process (`selfReflect`).
 *
 * Replica A holds N docs (written in an earlier session: A is closed and reopened before it attaches), replica B
 * is empty; both attach to one shared file store; then K live puts on A. After the run both ledgers are
 * closed and B is opened again from ITS OWN local store, without attaching: what it holds there is what
 * replication delivered.
 *
 *   node --import tsx apps/bench/repro/fireproof-replication.ts [--n 10000] [--live 200] [--timeout 100]
 *        [--settle 1]       seconds to wait after B saw everything, before closing
 *        [--same-session]   attach A in the session that wrote its docs (no reopen first)
 *
 * Last line of stdout is JSON { system, confirmedFailure, ... }. Exit 0: replication delivered everything;
 * 2: a failure is confirmed (B's own store lacks docs); 1: the repro itself broke.
 */
import { fireproof, PARAM } from '@fireproof/core'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'

const argv = process.argv.slice(2)
const opt = (name: string, fallback: number) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? Number(argv[i + 1]) : fallback
}
const N = opt('n', 10_000)
const LIVE = opt('live', 200)
const TIMEOUT_MS = opt('timeout', 100) * 1000
const sameSession = argv.includes('--same-session')
const SETTLE_MS = opt('settle', 1) * 1000

const STORE_KEY = '@fireproof:attach@'
const root = mkdtempSync(join(os.tmpdir(), 'repro-fireproof-'))
const url = (dir: string, extra: Record<string, string> = {}) =>
  `file://${dir}?${new URLSearchParams({ [PARAM.STORE_KEY]: STORE_KEY, ...extra })}`
const open = (side: 'a' | 'b') => fireproof(`repro-${side}`, { storeUrls: { base: url(join(root, side)) } })
const sharedUrl = url(join(root, 'shared'), { [PARAM.SELF_REFLECT]: 'x' })
const shared = {
  name: 'shared',
  configHash: () => `shared-${root}`,
  prepare: async () => ({ car: { url: sharedUrl }, meta: { url: sharedUrl }, file: { url: sharedUrl } }),
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const countOf = async (db: ReturnType<typeof fireproof>) => (await db.allDocs()).rows.length

const report: Record<string, unknown> = { system: `@fireproof/core 0.24.19 file store`, n: N, live: LIVE, sameSession }
let exitCode = 1
try {
  let a = open('a')
  await a.bulk(Array.from({ length: N }, (_, i) => ({ _id: `doc-${String(i).padStart(7, '0')}`, n: i })))
  if (!sameSession) {
    await a.close()
    a = open('a')
  }
  const b = open('b')
  const t0 = performance.now()
  await a.attach(shared)
  await b.attach(shared)
  let seen = -1
  let readError: string | undefined
  while (performance.now() - t0 < TIMEOUT_MS) {
    try {
      seen = await countOf(b)
      readError = undefined
    } catch (e) {
      readError = String((e as Error).message ?? e).slice(0, 200)
    }
    if (seen >= N) break
    await sleep(100)
  }
  report.initialSyncMs = Math.round(performance.now() - t0)
  report.initialSeenByB = seen
  if (readError) report.bReadError = readError

  for (let i = 0; i < LIVE; i++) await a.put({ _id: `live-${String(i).padStart(7, '0')}`, n: i })
  const t1 = performance.now()
  let live: number = -1
  while (performance.now() - t1 < TIMEOUT_MS) {
    try {
      live = await countOf(b)
      if (live >= N + LIVE) break
    } catch {
      /* counted below, from B's own store */
    }
    await sleep(100)
  }
  report.liveSyncMs = Math.round(performance.now() - t1)
  report.seenByBBeforeClose = live
  // Let background writes (B persisting what it merged) finish before closing.
  await sleep(SETTLE_MS)
  await a.close()
  await b.close()

  // B's own local store, reopened without attaching: what replication left on B's disk.
  const alone = open('b')
  report.heldByBOwnStore = await countOf(alone).catch((e: Error) => `read error: ${String(e.message).slice(0, 200)}`)
  await alone.close()
  // The same store attached again: what B holds once it syncs again.
  const reattached = open('b')
  await reattached.attach(shared)
  let held: number | string = -1
  const t2 = performance.now()
  while (performance.now() - t2 < TIMEOUT_MS) {
    held = await countOf(reattached).catch((e: Error) => `read error: ${String(e.message).slice(0, 200)}`)
    if (held === N + LIVE) break
    await sleep(100)
  }
  await reattached.close()
  report.heldByBReattached = held
  report.expected = N + LIVE
  // A failure is confirmed only when B never got the docs: not during the run, not after reopening and syncing again.
  report.confirmedFailure = live !== N + LIVE && held !== N + LIVE
  exitCode = report.confirmedFailure ? 2 : 0
} catch (e) {
  report.reproError = String((e as Error).stack ?? e).slice(0, 500)
} finally {
  rmSync(root, { recursive: true, force: true })
}
console.log(JSON.stringify(report))
process.exit(exitCode)
