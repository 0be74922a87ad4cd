import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Connector, MetaEntry } from '@proj/core/connector'
import { equals, toHex } from 'multiformats/bytes'
import { fileCid, metaEntry } from './cid.js'

export interface ConnectorFixture {
  connector: Connector
  /** A second independent client of the same backend (another device), for concurrency tests. */
  peer(): Promise<Connector>
  /** Does the backend push meta (Connector.subscribe)? Default: whether connector.subscribe exists. */
  subscribe?: boolean
  /** The backend keeps one meta blob per branch (connect.raw): concurrent saves may keep only the last. */
  singleMeta?: boolean
  /** Only files are tested (a file-only store such as IPFS without a meta half). */
  filesOnly?: boolean
  /**
   * Files are global by content address (IPFS): any database name may serve any CID. Separation is then
   * checked as "never different bytes" instead of "absent".
   */
  sharedFiles?: boolean
  /**
   * Called after each test, once the suite has called `close()` on the connector and on every peer it got
   * from `peer()`. For anything else the fixture made (a temp dir, a per-test server).
   */
  teardown?(): Promise<void>
}

/** Random bytes of any length (getRandomValues fills at most 64 KiB per call). */
function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length)
  for (let offset = 0; offset < length; offset += 65_536) {
    globalThis.crypto.getRandomValues(bytes.subarray(offset, Math.min(length, offset + 65_536)))
  }
  return bytes
}

function expectBytes(actual: Uint8Array | undefined, expected: Uint8Array): void {
  expect(actual, 'expected a Uint8Array').toBeInstanceOf(Uint8Array)
  expect(actual!.length, 'byte length').toBe(expected.length)
  expect(equals(actual!, expected), 'bytes differ from those uploaded').toBe(true)
}

/** Entries as sorted `{ cid, hex }`, comparable with toEqual. */
function view(entries: readonly MetaEntry[]): { cid: string; hex: string }[] {
  return entries
    .map((e) => ({ cid: e.cid, hex: toHex(e.bytes) }))
    .sort((a, b) => (a.cid < b.cid ? -1 : a.cid > b.cid ? 1 : 0))
}

const randomName = (prefix: string) => `${prefix}-${Buffer.from(randomBytes(8)).toString('hex')}`
const text = (s: string) => new TextEncoder().encode(s)
/** A meta entry with unique content. */
const entry = (label: string) => metaEntry(text(`${label} ${randomName('meta')}`))

/** What a backend supports, known before any fixture is made. */
export type ConnectorCapabilities = Pick<ConnectorFixture, 'subscribe' | 'singleMeta' | 'filesOnly' | 'sharedFiles'>

/**
 * The conformance suite every connector passes. `setup` runs before each test and makes a fresh fixture;
 * each test uses a fresh random database name, so a backend may keep its state across tests.
 *
 * A test of an optional capability the backend lacks is reported as skipped, with the reason (`[no push
 * subscribe: …]`), never as passed. `capabilities` declares them up front (those tests then skip without a
 * fixture being made); otherwise the fixture's flags and the connector's methods decide at run time.
 */
export function runConnectorTests(
  title: string,
  setup: () => Promise<ConnectorFixture>,
  capabilities?: ConnectorCapabilities,
): void {
  describe(`connector conformance: ${title}`, () => {
    let fixture: ConnectorFixture
    let connector: Connector
    let peers: Connector[]
    let db: string
    const branch = 'main'

    const peer = async (): Promise<Connector> => {
      const p = await fixture.peer()
      peers.push(p)
      return p
    }

    beforeEach(async () => {
      fixture = await setup()
      connector = fixture.connector
      peers = []
      db = randomName('db')
    })

    afterEach(async () => {
      for (const p of peers) await p.close?.()
      await connector.close?.()
      await fixture.teardown?.()
    })

    describe('files', () => {
      it('has a name', () => {
        expect(typeof connector.name).toBe('string')
        expect(connector.name.length).toBeGreaterThan(0)
      })

      it('download of a missing file resolves undefined', async () => {
        const cid = await fileCid(text('never uploaded ' + randomName('x')))
        expect(await connector.download(db, cid)).toBeUndefined()
      })

      it('download returns exactly the bytes uploaded', async () => {
        const bytes = randomBytes(1234)
        const cid = await fileCid(bytes)
        await connector.upload(db, cid, bytes)
        expectBytes(await connector.download(db, cid), bytes)
      })

      it('uploading the same cid twice is not an error', async () => {
        const bytes = randomBytes(300)
        const cid = await fileCid(bytes)
        await connector.upload(db, cid, bytes)
        await connector.upload(db, cid, bytes)
        expectBytes(await connector.download(db, cid), bytes)
      })

      it('stores a 5 MB file', async () => {
        const bytes = randomBytes(5 * 1024 * 1024)
        const cid = await fileCid(bytes)
        await connector.upload(db, cid, bytes)
        expectBytes(await connector.download(db, cid), bytes)
      })

      it('keeps the files of separate databases separate', async () => {
        const other = randomName('db')
        const bytes = randomBytes(100)
        const cid = await fileCid(bytes)
        await connector.upload(db, cid, bytes)
        const elsewhere = await connector.download(other, cid)
        if (fixture.sharedFiles) {
          if (elsewhere !== undefined) expectBytes(elsewhere, bytes)
        } else expect(elsewhere).toBeUndefined()
      })

      it('has() tells whether the backend holds a file, without downloading it (optional)', async (context) => {
        if (!connector.has) return context.skip(`${title} has no has()`)
        const bytes = randomBytes(700)
        const cid = await fileCid(bytes)
        expect(await connector.has(db, cid)).toBe(false)
        await connector.upload(db, cid, bytes)
        expect(await connector.has(db, cid)).toBe(true)
        const second = await peer()
        expect(await second.has?.(db, cid)).toBe(true)
      })

      it('a second client sees the files of the first', async () => {
        const second = await peer()
        const bytes = randomBytes(2048)
        const cid = await fileCid(bytes)
        await connector.upload(db, cid, bytes)
        expectBytes(await second.download(db, cid), bytes)
      })
    })

    // Optional capabilities: what a backend lacks shows as a skipped test with the reason, not as a pass.
    const noMeta = `${title} stores files only (no meta half)`
    const noSubscribe = `${title} has no push subscribe (sync polls it)`
    /** A test that runs only where `lacks(fixture)` is undefined; declared lacks skip without a fixture. */
    const optionalTest = (declared: string | undefined, lacks: () => string | undefined) => (name: string, fn: () => Promise<void>) => {
      if (declared) {
        it.skip(`${name} [skipped: ${declared}]`, () => {})
        return
      }
      it(name, async (context) => {
        const reason = lacks()
        if (reason) context.skip(reason)
        await fn()
      })
    }

    describe('meta', () => {
      const metaTest = optionalTest(capabilities?.filesOnly ? noMeta : undefined, () => (fixture.filesOnly ? noMeta : undefined))

      metaTest('load of an empty branch resolves []', async () => {
        expect(await connector.load(db, branch)).toEqual([])
      })

      metaTest('load returns a saved entry', async () => {
        const e = await entry('one')
        await connector.save(db, branch, e, [])
        expect(view(await connector.load(db, branch))).toEqual(view([e]))
      })

      metaTest('save with replaces removes the named entries', async () => {
        const a = await entry('a')
        const b = await entry('b')
        const c = await entry('c')
        await connector.save(db, branch, a, [])
        await connector.save(db, branch, b, [a.cid])
        expect(view(await connector.load(db, branch))).toEqual(view([b]))
        await connector.save(db, branch, c, [b.cid, a.cid])
        expect(view(await connector.load(db, branch))).toEqual(view([c]))
      })

      metaTest('a save may name 300 replaced entries (a device that merged many writers), present or gone', async () => {
        // Entries other devices saved without merging each other stay current until one device merges them all;
        // its save names every one (some may be gone already: another merger's save removed them). A request
        // carrying them all in its URL is over a server's header limit past ~270 of them.
        const present = await Promise.all(Array.from({ length: 5 }, (_, i) => entry(`concurrent writer ${i}`)))
        for (const e of present) await connector.save(db, branch, e, [])
        const gone = await Promise.all(Array.from({ length: 295 }, (_, i) => entry(`removed already ${i}`)))
        const merged = await entry('merged all')
        await connector.save(db, branch, merged, [...present, ...gone].map((e) => e.cid))
        expect(view(await connector.load(db, branch))).toEqual(view([merged]))
      })

      metaTest('save without replaces keeps the other entries', async () => {
        const a = await entry('a')
        const b = await entry('b')
        await connector.save(db, branch, a, [])
        await connector.save(db, branch, b, [])
        const loaded = view(await connector.load(db, branch))
        if (fixture.singleMeta) expect(loaded).toEqual(view([b]))
        else expect(loaded).toEqual(view([a, b]))
      })

      metaTest('keeps the meta of separate databases separate', async () => {
        const e = await entry('db')
        await connector.save(db, branch, e, [])
        expect(await connector.load(randomName('db'), branch)).toEqual([])
      })

      metaTest('keeps branches separate', async () => {
        const main = await entry('main')
        const other = await entry('other')
        await connector.save(db, 'main', main, [])
        expect(await connector.load(db, 'other')).toEqual([])
        await connector.save(db, 'other', other, [])
        expect(view(await connector.load(db, 'main'))).toEqual(view([main]))
        expect(view(await connector.load(db, 'other'))).toEqual(view([other]))
      })

      metaTest('a second client sees the meta of the first', async () => {
        const second = await peer()
        const e = await entry('first')
        await connector.save(db, branch, e, [])
        expect(view(await second.load(db, branch))).toEqual(view([e]))
      })

      metaTest('two clients saving at the same moment both survive', async () => {
        const second = await peer()
        const a = await entry('client a')
        const b = await entry('client b')
        await Promise.all([connector.save(db, branch, a, []), second.save(db, branch, b, [])])
        for (const client of [connector, second]) {
          const loaded = view(await client.load(db, branch))
          if (fixture.singleMeta) {
            // One blob per branch: exactly the last-arriving entry, which is one of the two.
            expect(loaded).toHaveLength(1)
            expect([view([a]), view([b])]).toContainEqual(loaded)
          } else {
            expect(loaded).toEqual(view([a, b]))
          }
        }
      })

      metaTest('many concurrent saves from two clients all survive', async () => {
        const second = await peer()
        const entries = await Promise.all(Array.from({ length: 10 }, (_, i) => entry(`concurrent ${i}`)))
        await Promise.all(entries.map((e, i) => (i % 2 ? second : connector).save(db, branch, e, [])))
        const loaded = view(await connector.load(db, branch))
        if (fixture.singleMeta) {
          expect(loaded).toHaveLength(1)
          expect(entries.map((e) => view([e]))).toContainEqual(loaded)
        } else {
          expect(loaded).toEqual(view(entries))
        }
      })
    })

    describe('subscribe', () => {
      const declared = capabilities?.filesOnly ? noMeta : capabilities?.subscribe === false ? noSubscribe : undefined
      const subscribeTest = optionalTest(declared, () => {
        if (fixture.filesOnly) return noMeta
        return (fixture.subscribe ?? typeof connector.subscribe === 'function') ? undefined : noSubscribe
      })
      /** Collects every entry cid delivered to a subscription. */
      const collect = () => {
        const seen = new Set<string>()
        const onEntries = (entries: MetaEntry[]) => {
          expect(Array.isArray(entries)).toBe(true)
          for (const e of entries) seen.add(e.cid)
        }
        return { seen, onEntries }
      }

      subscribeTest('delivers the current entries first', async () => {
        const e = await entry('existing')
        await connector.save(db, branch, e, [])
        const { seen, onEntries } = collect()
        const unsubscribe = connector.subscribe!(db, branch, onEntries)
        try {
          await vi.waitFor(() => expect(seen.has(e.cid)).toBe(true), { timeout: 15_000, interval: 20 })
        } finally {
          unsubscribe()
        }
      })

      subscribeTest("delivers a peer's save to the subscriber, and unsubscribe stops it", async () => {
        const second = await peer()
        const first = collect()
        const unsubscribe = connector.subscribe!(db, branch, first.onEntries)
        const e1 = await entry('pushed')
        // A subscription may take a moment to be established; save until it is delivered.
        await vi.waitFor(
          async () => {
            if (!first.seen.has(e1.cid)) await second.save(db, branch, e1, [])
            expect(first.seen.has(e1.cid)).toBe(true)
          },
          { timeout: 15_000, interval: 200 },
        )
        const bytes = (await connector.load(db, branch)).find((x) => x.cid === e1.cid)
        expect(bytes && view([bytes])).toEqual(view([e1]))

        unsubscribe()
        // A second subscription acts as the barrier: once it has seen e2, the first would have too.
        const barrier = collect()
        const unsubscribeBarrier = connector.subscribe!(db, branch, barrier.onEntries)
        try {
          const e2 = await entry('after unsubscribe')
          await vi.waitFor(
            async () => {
              if (!barrier.seen.has(e2.cid)) await second.save(db, branch, e2, [])
              expect(barrier.seen.has(e2.cid)).toBe(true)
            },
            { timeout: 15_000, interval: 200 },
          )
          expect(first.seen.has(e2.cid)).toBe(false)
        } finally {
          unsubscribeBarrier()
        }
      })
    })
  })
}
