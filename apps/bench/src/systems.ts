/**
 * One adapter per system: the same small surface, so every workload runs the same code against each.
 * Loaded inside a child process only for the system it measures (no peer shares a heap with another).
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { BenchDoc } from './docs.js'

const require = createRequire(import.meta.url)

export interface BenchDb {
  put(doc: BenchDoc): Promise<void>
  bulk(docs: BenchDoc[]): Promise<void>
  /** undefined when absent */
  get(id: string): Promise<unknown>
  /** Reads every live doc; returns how many. */
  scan(): Promise<number>
  /** Docs whose `n` is in [lo, hi] (inclusive), with their bodies; returns how many. */
  range(lo: number, hi: number): Promise<number>
  count(): Promise<number>
  /**
   * Up to `limit` docs (with bodies) whose ids come after `after` (from the first id when undefined), in id
   * order: one page of a paged read of every doc. Returns the ids read.
   */
  page(after: string | undefined, limit: number): Promise<string[]>
  close(): Promise<void>
}

/** Two replicas of one database, each in its own folder, and a way to start replicating. */
export interface SyncPair {
  a: BenchDb
  b: BenchDb
  /** Starts A's replication (push); resolves when what A holds is remote (or fully replicated to B). */
  startA(): Promise<void>
  /** Starts B's replication; resolves when its first pull is merged. */
  startB(): Promise<void>
  /**
   * Closes and reopens A from its own folder (untimed), for systems whose replication only sends what an earlier
   * session wrote (Fireproof 0.24.19: see repro/fireproof-replication.ts --same-session).
   */
  reopenA?(): Promise<void>
  /** Pull now, for systems that can (otherwise waits for the next poll). */
  refreshB(): Promise<void>
  /** Calls back with the ids B sees changed (local or remote). */
  onBChange(listener: (ids: string[]) => void): void
  stop(): Promise<void>
}

export interface System {
  id: string
  label: string
  version: string
  open(root: string, name: string): Promise<BenchDb>
  /** `transport` names a variant (ours: 'memory' | 'raw'); undefined when the system has no offline sync. */
  syncPair?(root: string, name: string, transport: string): Promise<SyncPair>
  /** Why there is no sync, when syncPair is absent. */
  noSync?: string
  /** What an acknowledged write survives, in a few words (printed beside every figure). */
  durability: string
}

/** Durability levels, named once so every row of the report says the same thing. */
export const DURABILITY = {
  power: 'power-loss safe (fsync before the write resolves)',
  process: 'process-crash safe, not power loss (written to the OS, no fsync per write)',
  memory: 'none (memory only)',
} as const

const pkgVersion = (name: string): string => {
  try {
    return (require(`${name}/package.json`) as { version: string }).version
  } catch {
    return '?'
  }
}

// ------------------------------------------------------------------------------------------------ ours
/**
 * `durability` undefined: the core's default ('power', fsync per transaction), as before the option existed.
 * 'process' / 'power': passed to `database(name, { durability })` (see packages/core/src/storage/durability.ts).
 */
async function ours(durability?: 'process' | 'power'): Promise<System> {
  const core = await import('@proj/core')
  const version = `@proj/core ${(JSON.parse(readFileSync(new URL('../../../packages/core/package.json', import.meta.url), 'utf8')) as { version: string }).version} (workspace build)`
  type Db = import('@proj/core').Database
  const wrap = (db: Db): BenchDb => ({
    put: async (doc) => void (await db.put(doc)),
    bulk: async (docs) => void (await db.bulk(docs)),
    get: async (id) => {
      try {
        return await db.get(id)
      } catch (e) {
        if ((e as Error).name === 'NotFoundError') return undefined
        throw e
      }
    },
    scan: async () => (await db.allDocs()).rows.length,
    range: async (lo, hi) => (await db.query('n', { range: [lo, hi], includeDocs: true })).rows.length,
    // As PouchDB's: the count its info() reports (ours walks the tree's leaves; no rows or documents are built).
    count: async () => (await db.info()).docCount,
    page: async (after, limit) => (await db.allDocs(after === undefined ? { limit } : { limit, after })).rows.map((r) => r.key),
    close: () => db.close(),
  })
  const level = durability ? { durability } : {}
  return {
    id: durability === 'process' ? 'ours-process' : 'ours',
    label: `@proj/core (file${durability ? `, durability '${durability}'` : ''})`,
    version,
    durability: durability === 'process' ? DURABILITY.process : DURABILITY.power,
    open: async (root, name) => wrap(core.database(name, { dir: root, storage: 'file', ...level })),
    async syncPair(root, name, transport) {
      const a = core.database(name, { dir: join(root, 'a'), storage: 'file', ...level })
      const b = core.database(name, { dir: join(root, 'b'), storage: 'file', key: await a.exportKey(), ...level })
      const { connector, stop } = await makeTransport(transport)
      const syncs: import('@proj/core').Sync[] = []
      return {
        a: wrap(a),
        b: wrap(b),
        async startA() {
          const s = a.connect(connector(), transport === 'raw' ? { pollInterval: 100 } : {})
          syncs.push(s)
          await s.ready
          await s.flush()
        },
        async startB() {
          const s = b.connect(connector(), transport === 'raw' ? { pollInterval: 100 } : {})
          syncs.push(s)
          await s.ready
        },
        async refreshB() {
          await syncs[1]?.refresh()
        },
        onBChange(listener) {
          b.subscribe((rows) => listener(rows.map((r) => r.key)))
        },
        async stop() {
          for (const s of syncs) await s.close()
          await a.close()
          await b.close()
          await stop()
        },
      }
    },
  }
}

/**
 * Transports for our sync: one connector per replica, all sharing one backend, and what stops the backend.
 * - memory: connector-tests' in-process MemoryConnector (pushes new heads);
 * - raw: connect.raw over a Map (polls);
 * - partykit: connect-partykit's built connector against a real `partykit dev` (workerd) started here on
 *   127.0.0.1 with the package's test fixture, as its tests start it (packages/test-utils, INFRA.md).
 */
async function makeTransport(transport: string): Promise<{ connector: () => import('@proj/core/connector').Connector; stop(): Promise<void> }> {
  if (transport === 'memory') {
    // The subpath, not the package: its index loads the conformance suite and with it vitest (~17 MB RSS).
    const { MemoryBackend, MemoryConnector } = await import('@proj/connector-tests/memory')
    const backend = new MemoryBackend()
    return { connector: () => new MemoryConnector(backend), stop: async () => {} }
  }
  if (transport === 'raw') {
    const { rawConnector } = await import('@proj/connect-raw')
    const objects = new Map<string, Uint8Array>()
    const key = (p: { type: string; name: string; car?: string; branch?: string }) =>
      `${p.name}/${p.type}/${p.car ?? p.branch}`
    const fns = {
      upload: async (bytes: Uint8Array, p: Parameters<typeof key>[0]) => void objects.set(key(p), bytes.slice()),
      download: async (p: Parameters<typeof key>[0]) => objects.get(key(p))?.slice(),
    }
    return { connector: () => rawConnector(fns), stop: async () => {} }
  }
  if (transport === 'partykit') {
    const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
    const packageDir = join(repoRoot, 'packages/connect-partykit')
    // The test launcher by path (a test helper, not measured); the connector as built, like the core.
    const { startPartykitDev } = await import(pathToFileURL(join(repoRoot, 'packages/test-utils/src/partykit-dev.ts')).href)
    const { partykitConnector } = (await import(pathToFileURL(join(packageDir, 'dist/index.js')).href)) as {
      partykitConnector(host: string, options: { room: string }): import('@proj/core/connector').Connector
    }
    const dev = await startPartykitDev({ cwd: packageDir, config: join(packageDir, 'test/fixture/partykit.json') })
    const room = `bench-${process.pid}-${Date.now()}`
    return { connector: () => partykitConnector(dev.url, { room }), stop: () => dev.stop() }
  }
  throw new Error(`unknown transport ${transport}`)
}

// ------------------------------------------------------------------------------------------------ PouchDB
async function pouch(adapter: 'memory' | 'leveldb'): Promise<System> {
  const PouchDB = (await import('pouchdb')).default as unknown as PouchStatic
  if (adapter === 'memory') PouchDB.plugin((await import('pouchdb-adapter-memory')).default)
  const make = (root: string, name: string) => (
    mkdirSync(root, { recursive: true }),
    adapter === 'memory' ? new PouchDB(`${root}/${name}`, { adapter: 'memory' }) : new PouchDB(join(root, name)))
  const wrap = (db: PouchDb): BenchDb => ({
    put: async (doc) => void (await db.put(doc)),
    bulk: async (docs) => {
      const res = await db.bulkDocs(docs)
      const bad = res.find((r: { error?: unknown }) => r.error)
      if (bad) throw new Error(`bulkDocs: ${JSON.stringify(bad)}`)
    },
    get: async (id) => {
      try {
        return await db.get(id)
      } catch (e) {
        if ((e as { status?: number }).status === 404) return undefined
        throw e
      }
    },
    scan: async () => (await db.allDocs({ include_docs: true })).rows.length,
    // ids are doc-<n padded>: the primary index answers a range of n directly (PouchDB's fastest range read).
    range: async (lo, hi) =>
      (await db.allDocs({ startkey: docKey(lo), endkey: docKey(hi), include_docs: true })).rows.length,
    count: async () => (await db.info()).doc_count,
    // PouchDB's paging idiom: start at the last key read and skip it.
    page: async (after, limit) =>
      (await db.allDocs(after === undefined ? { limit, include_docs: true } : { startkey: after, skip: 1, limit, include_docs: true }))
        .rows.map((r: { id: string }) => r.id),
    close: () => db.close(),
  })
  return {
    id: `pouch-${adapter}`,
    label: `PouchDB (${adapter === 'memory' ? 'memory' : 'LevelDB'})`,
    version: `pouchdb ${pkgVersion('pouchdb')}${adapter === 'memory' ? `, adapter-memory ${pkgVersion('pouchdb-adapter-memory')}` : ''}`,
    // LevelDB's writes are not synced by PouchDB (leveldown put without { sync: true }).
    durability: adapter === 'memory' ? DURABILITY.memory : DURABILITY.process,
    open: async (root, name) => wrap(make(root, name)),
    async syncPair(root, name) {
      const a = make(join(root, 'a'), name)
      const b = make(join(root, 'b'), name)
      let live: { cancel(): void } | undefined
      let feed: { cancel(): void } | undefined
      return {
        a: wrap(a),
        b: wrap(b),
        async startA() {
          await a.replicate.to(b)
          live = PouchDB.sync(a, b, { live: true, retry: true })
        },
        async startB() {},
        async refreshB() {},
        onBChange(listener) {
          feed = b.changes({ live: true, since: 'now' }).on('change', (c: { id: string }) => listener([c.id]))
        },
        async stop() {
          live?.cancel()
          feed?.cancel()
          await a.close()
          await b.close()
        },
      }
    },
  }
}
const docKey = (n: number) => `doc-${String(n).padStart(7, '0')}`
// Just what is used here; pouchdb ships no types.
type PouchDb = any // eslint-disable-line @typescript-eslint/no-explicit-any
type PouchStatic = any // eslint-disable-line @typescript-eslint/no-explicit-any

// ------------------------------------------------------------------------------------------------ Fireproof
async function fireproofSystem(): Promise<System> {
  const fp = await import('@fireproof/core')
  type Fp = ReturnType<typeof fp.fireproof>
  const wrap = (db: Fp): BenchDb => ({
    put: async (doc) => void (await db.put(doc)),
    bulk: async (docs) => void (await db.bulk(docs)),
    get: async (id) => {
      try {
        return await db.get(id)
      } catch (e) {
        if (/not found/i.test(String((e as Error).message))) return undefined
        throw e
      }
    },
    scan: async () => (await db.allDocs()).rows.length,
    range: async (lo, hi) => (await db.query('n', { range: [lo, hi], includeDocs: true })).rows.length,
    count: async () => (await db.allDocs()).rows.length,
    // Fireproof 0.24's allDocs has no start key: a page is cut from the full list (what an app would have to do).
    page: async (after, limit) => {
      const ids = (await db.allDocs()).rows.map((r) => r.key).sort()
      const from = after === undefined ? 0 : ids.findIndex((id) => id > after)
      return from < 0 ? [] : ids.slice(from, from + limit)
    },
    close: () => db.close(),
  })
  // Fireproof reads its storage root from FP_STORAGE_URL (file store on Node).
  const openAt = (base: string, name: string) => {
    process.env.FP_STORAGE_URL = `file://${base}`
    return fp.fireproof(name)
  }
  return {
    id: 'fireproof',
    label: 'Fireproof (file)',
    version: `@fireproof/core ${pkgVersion('@fireproof/core')}`,
    open: async (root, name) => wrap(openAt(root, name)),
    // @fireproof/core-gateways-file 0.24.19 writes each car and the head (meta/main.json) with fs.writeFile: no
    // fsync, and the head is overwritten in place (no temp file + rename).
    durability: 'process-crash safe once a put resolves, not power loss (fs.writeFile, no fsync; head file overwritten in place)',
    async syncPair(root, name) {
      // Fireproof's own offline sync, set up as its tests do (core/tests/fireproof/attachable.test.ts): both
      // ledgers and the shared store use the same named store key, and the shared store reflects meta writes
      // to the other ledger in this process (selfReflect). Same as repro/fireproof-replication.ts.
      const storeKey = '@fireproof:attach@'
      const url = (dir: string, extra: Record<string, string> = {}) =>
        `file://${dir}?${new URLSearchParams({ [fp.PARAM.STORE_KEY]: storeKey, ...extra })}`
      const openSide = (side: 'a' | 'b') => fp.fireproof(`${name}-${side}`, { storeUrls: { base: url(join(root, side)) } })
      const sharedUrl = url(join(root, 'shared'), { [fp.PARAM.SELF_REFLECT]: 'x' })
      const attachable = {
        name: 'shared',
        configHash: () => `shared-${root}`,
        prepare: async () => ({ car: { url: sharedUrl }, meta: { url: sharedUrl }, file: { url: sharedUrl } }),
      }
      let a = openSide('a')
      const b = openSide('b')
      const pair: SyncPair = {
        a: wrap(a),
        b: wrap(b),
        async reopenA() {
          await a.close()
          a = openSide('a')
          pair.a = wrap(a)
        },
        async startA() {
          await a.attach(attachable)
        },
        async startB() {
          await b.attach(attachable)
        },
        async refreshB() {},
        onBChange(listener) {
          b.subscribe((docs: { _id: string }[]) => listener(docs.map((d) => d._id)), true)
        },
        async stop() {
          await a.close()
          await b.close()
        },
      }
      return pair
    },
  }
}

export async function loadSystem(id: string): Promise<System> {
  if (id === 'ours') return ours()
  if (id === 'ours-process') return ours('process')
  if (id === 'pouch-memory') return pouch('memory')
  if (id === 'pouch-leveldb') return pouch('leveldb')
  if (id === 'fireproof') return fireproofSystem()
  throw new Error(`unknown system ${id}`)
}
