import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { database, type Connector, type Database, type Sync } from '@proj/core'
import { MemoryBackend, MemoryConnector, seededRandom } from '../src/index.js'
import { uniqueDir } from './sync-helpers.js'

/**
 * Seeded property test of history: random writes, compactions (explicit and automatic), merges from a
 * concurrent replica, flushes and cold starts; afterwards every clock that a device held right after a
 * successful flush() reads back, through `at(clock)`, exactly the documents it had then — on the writer
 * (live and reopened) and on a fresh device that starts from the backend.
 */

/** HISTORY_SEEDS=n runs more seeds (a soak); CI runs 30. */
const SEEDS = Number(process.env.HISTORY_SEEDS) || 30
const OPS = 80

const dirs: string[] = []
const open: { close(): Promise<void> }[] = []
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close().catch(() => {})
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** Pull-only: merges happen when the test asks (flush/refresh), so a seed replays the same interleaving. */
function pullOnly(inner: MemoryConnector): Connector {
  return {
    name: inner.name,
    upload: (db, cid, bytes) => inner.upload(db, cid, bytes),
    download: (db, cid) => inner.download(db, cid),
    save: (db, branch, entry, replaces) => inner.save(db, branch, entry, replaces),
    load: (db, branch) => inner.load(db, branch),
    close: () => inner.close(),
  }
}

type Docs = Record<string, unknown>
interface Flushed {
  clock: string[]
  docs: Docs
  label: string
}

async function snapshot(db: Database): Promise<{ clock: string[]; docs: Docs }> {
  for (;;) {
    const clock = await db.clock()
    const { rows, clock: read } = await db.allDocs()
    if (JSON.stringify(read) !== JSON.stringify(clock)) continue
    return { clock, docs: Object.fromEntries(rows.map((row) => [row.key, row.value])) }
  }
}

async function readAt(db: Database, clock: string[]): Promise<Docs | string> {
  try {
    const view = await db.at(clock)
    const { rows } = await view.allDocs()
    return Object.fromEntries(rows.map((row) => [row.key, row.value]))
  } catch (error) {
    const cause = (error as Error).cause as Error | undefined
    return `${(error as Error).name}: ${(error as Error).message}${cause ? ` (${cause.message})` : ''}`
  }
}

function part(docs: Docs, prefix: string): Docs {
  return Object.fromEntries(Object.entries(docs).filter(([id]) => id.startsWith(prefix)))
}

/**
 * `concurrent`: the ops of a group of 2-8 are issued without awaiting one another (writes, compactions, pulls
 * and pushes of both replicas in flight together; writes apply in issue order, so the model is updated as each
 * is issued), and the clocks are recorded once the group has settled and both replicas flushed.
 */
async function runSeed(seed: number, concurrent = false): Promise<{ checked: number; failures: string[] }> {
  const random = seededRandom(seed)
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!
  const backend = new MemoryBackend()
  const dir = mkdtempSync(join(tmpdir(), 'proj-history-'))
  dirs.push(dir)
  const name = `h${seed}`
  const sync = (db: Database): Sync => {
    const s = db.connect(pullOnly(new MemoryConnector(backend)), { pollInterval: 0, maxBackoff: 20, flushTimeout: 5_000 })
    open.push(s)
    return s
  }
  const openA = () => {
    // Every fifth seed on disk (fsync'd files), the others in process memory, which survives a reopen too.
    const db = database(name, { dir, storage: seed % 5 === 0 ? 'file' : 'memory', compactEvery: 1 + Math.floor(random() * 6), key })
    open.push(db)
    return db
  }
  let key: string | undefined
  let a = openA()
  key = await a.exportKey()
  const b = database(name, { storage: 'memory', dir: uniqueDir('history-b'), key, compactEvery: 3 })
  open.push(b)
  let sa = sync(a)
  const sb = sync(b)
  await Promise.all([sa.ready, sb.ready])

  // The model: A writes only a-* ids and B only b-* ids, so A's a-part is exactly `modelA`, and its b-part is
  // one of the states B went through.
  const modelA: Docs = {}
  const modelB: Docs = {}
  const statesB = [JSON.stringify({})]
  const flushed: Flushed[] = []
  const failures: string[] = []
  const checkA = (docs: Docs, step: string) => {
    if (JSON.stringify(part(docs, 'a-')) !== JSON.stringify(sorted(modelA))) failures.push(`${step}: A's own docs differ from the model`)
    if (!statesB.includes(JSON.stringify(part(docs, 'b-')))) failures.push(`${step}: A holds a state B never had`)
  }
  const ids = (prefix: string) => Array.from({ length: 8 }, (_, i) => `${prefix}${i}`)
  const sorted = (docs: Docs) => Object.fromEntries(Object.entries(docs).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))

  const settle = async (step: number) => {
    await sb.flush()
    flushed.push({ ...(await snapshot(b)), label: `B@${step}` })
    await sa.refresh()
    await sa.flush()
    const now = await snapshot(a)
    checkA(now.docs, `step ${step}`)
    flushed.push({ ...now, label: `A@${step}` })
  }
  let inFlight: Promise<unknown>[] = []
  let groupEnds = 0
  for (let step = 0; step < OPS; step++) {
    if (concurrent && step >= groupEnds) {
      const results = await Promise.allSettled(inFlight)
      for (const result of results) if (result.status === 'rejected') failures.push(`step ${step}: ${(result.reason as Error).name}: ${(result.reason as Error).message}`)
      inFlight = []
      if (step > 0) await settle(step)
      if (step > 0 && random() < 0.15) {
        await sa.close()
        await a.close()
        a = openA()
        sa = sync(a)
        await sa.ready
      }
      groupEnds = step + 2 + Math.floor(random() * 7)
    }
    if (concurrent) {
      const op = pick(['putA', 'putA', 'delA', 'bulkA', 'compactA', 'writeB', 'writeB', 'compactB', 'pushB', 'pullA', 'pushA'] as const)
      const id = pick(ids('a-'))
      switch (op) {
        case 'putA': {
          const doc = { _id: id, v: step }
          modelA[id] = doc
          inFlight.push(a.put(doc))
          break
        }
        case 'delA': {
          const present = Object.keys(modelA)
          if (present.length === 0) break
          const target = pick(present)
          delete modelA[target]
          inFlight.push(a.del(target))
          break
        }
        case 'bulkA': {
          const docs = [id, pick(ids('a-'))].map((_id) => ({ _id, v: step, bulk: true }))
          for (const doc of docs) modelA[doc._id] = doc
          inFlight.push(a.bulk(docs))
          break
        }
        case 'compactA':
          inFlight.push(a.compact())
          break
        case 'writeB': {
          const bid = pick(ids('b-'))
          if (random() < 0.3 && modelB[bid]) {
            delete modelB[bid]
            inFlight.push(b.del(bid))
          } else {
            const doc = { _id: bid, w: step }
            modelB[bid] = doc
            inFlight.push(b.put(doc))
          }
          statesB.push(JSON.stringify(sorted(modelB)))
          break
        }
        case 'compactB':
          inFlight.push(b.compact())
          break
        case 'pushB':
          inFlight.push(sb.flush())
          break
        case 'pullA':
          inFlight.push(sa.refresh())
          break
        case 'pushA':
          inFlight.push(sa.flush())
          break
      }
      continue
    }
    const op = pick(['putA', 'putA', 'delA', 'bulkA', 'compactA', 'writeB', 'writeB', 'compactB', 'merge', 'flushA', 'flushA', 'reopenA'] as const)
    switch (op) {
      case 'putA': {
        const id = pick(ids('a-'))
        const doc = { _id: id, v: step }
        await a.put(doc)
        modelA[id] = doc
        break
      }
      case 'delA': {
        const present = Object.keys(modelA)
        if (present.length === 0) break
        const id = pick(present)
        await a.del(id)
        delete modelA[id]
        break
      }
      case 'bulkA': {
        const docs = [pick(ids('a-')), pick(ids('a-'))].map((id) => ({ _id: id, v: step, bulk: true }))
        await a.bulk(docs)
        for (const doc of docs) modelA[doc._id] = doc
        break
      }
      case 'compactA':
        await a.compact()
        break
      case 'writeB': {
        const id = pick(ids('b-'))
        if (random() < 0.3 && modelB[id]) {
          await b.del(id)
          delete modelB[id]
        } else {
          const doc = { _id: id, w: step }
          await b.put(doc)
          modelB[id] = doc
        }
        statesB.push(JSON.stringify(sorted(modelB)))
        break
      }
      case 'compactB':
        await b.compact()
        break
      case 'merge':
        await sb.flush()
        flushed.push({ ...(await snapshot(b)), label: `B@${step}` })
        await sa.refresh()
        break
      case 'flushA': {
        await sa.flush()
        const now = await snapshot(a)
        checkA(now.docs, `step ${step}`)
        flushed.push({ ...now, label: `A@${step}` })
        break
      }
      case 'reopenA':
        await sa.close()
        await a.close()
        a = openA()
        sa = sync(a)
        await sa.ready
        break
    }
  }
  for (const result of await Promise.allSettled(inFlight)) {
    if (result.status === 'rejected') failures.push(`end: ${(result.reason as Error).name}: ${(result.reason as Error).message}`)
  }
  if (concurrent) await settle(OPS)
  // Everything flushed reaches A, then the backend.
  await sb.flush()
  await sa.refresh()
  await sa.flush()

  let checked = 0
  const verify = async (db: Database, who: string) => {
    for (const { clock, docs, label } of flushed) {
      const got = await readAt(db, clock)
      checked++
      if (JSON.stringify(got) !== JSON.stringify(docs)) {
        failures.push(`${who} at(${label}): ${typeof got === 'string' ? got : 'different documents'}`)
      }
    }
  }
  await verify(a, 'A live')
  await sa.close()
  await a.close()
  a = openA()
  sa = sync(a)
  await sa.ready
  await verify(a, 'A reopened')
  const fresh = database(name, { storage: 'memory', dir: uniqueDir('history-fresh'), key })
  open.push(fresh)
  await sync(fresh).ready
  await verify(fresh, 'fresh device')
  return { checked, failures }
}

const CONCURRENT_SEEDS = Number(process.env.HISTORY_SEEDS) || 20

describe('history stays readable', () => {
  it(`with ops in flight together: every settled clock reads back exactly, ${CONCURRENT_SEEDS} seeds of ${OPS} random ops`, async () => {
    const report: string[] = []
    let checked = 0
    const only = Number(process.env.HISTORY_SEED) || undefined
    for (let seed = only ?? 1; seed <= (only ?? CONCURRENT_SEEDS); seed++) {
      const result = await runSeed(1000 + seed, true)
      checked += result.checked
      for (const failure of result.failures) report.push(`seed ${1000 + seed}: ${failure}`)
      for (const item of open.splice(0).reverse()) await item.close().catch(() => {})
    }
    expect(report).toEqual([])
    expect(checked).toBeGreaterThan(only ? 0 : CONCURRENT_SEEDS * 3)
  }, 120_000 + CONCURRENT_SEEDS * 3_000)

  it(`every flushed clock reads back exactly, ${SEEDS} seeds of ${OPS} random ops (writes, compactions, merges, cold starts)`, async () => {
    const report: string[] = []
    let checked = 0
    // HISTORY_SEED=n replays one seed.
    const only = Number(process.env.HISTORY_SEED) || undefined
    for (let seed = only ?? 1; seed <= (only ?? SEEDS); seed++) {
      const result = await runSeed(seed)
      checked += result.checked
      for (const failure of result.failures) report.push(`seed ${seed}: ${failure}`)
      for (const item of open.splice(0).reverse()) await item.close().catch(() => {})
    }
    expect(report).toEqual([])
    expect(checked).toBeGreaterThan(only ? 0 : SEEDS * 3)
  }, 120_000 + SEEDS * 2_000)
})
