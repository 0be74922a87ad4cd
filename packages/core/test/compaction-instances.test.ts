import { describe, expect, it } from 'vitest'
import { database, DatabaseInUseError } from '../src/index.js'
import { bulkLoad, seededRandom, tempDir } from './helpers.js'

/**
 * A compaction and other instances over the same storage (another `database()` of the name in this process;
 * tabs get the same through Web Locks): only its swap and deletions need this instance alone, so an instance
 * opening during the rewrite does not wait for it; a compaction that cannot finish alone changes nothing and,
 * when asked for, says so.
 */
const DOCS = 4000
const doc = (i: number, v: number) => ({ _id: `d${String(i).padStart(5, '0')}`, v, text: 'z'.repeat(300) })
type Doc = ReturnType<typeof doc>

async function loaded(name: string, dir: string, docs = DOCS) {
  const db = database(name, { dir, compactEvery: 0 })
  const model = new Map<string, Doc>()
  await bulkLoad(db, docs, (i) => doc(i, 0), (d) => model.set(d._id, d))
  for (let k = 1; k <= 100; k++) {
    const value = doc((k * 37) % docs, k)
    await db.put(value)
    model.set(value._id, value)
  }
  return { db, model }
}

/**
 * After compact() was called: one turn of the event loop, by which its check that this instance is alone (on
 * microtasks) has passed, while its rewrite (file reads and writes, many turns) has not ended.
 */
const pastTheStart = () => new Promise((resolve) => setImmediate(resolve))

async function expectAll(db: ReturnType<typeof database>, model: Map<string, Doc>, where: string) {
  const { rows } = await db.allDocs()
  expect(rows.length, where).toBe(model.size)
  for (const row of rows) expect(row.value, `${where}: ${row.key}`).toEqual(model.get(row.key))
}

describe('a compaction and other instances over the same storage', () => {
  it('an instance opening during the rewrite reads at once; open at the swap, it makes compact() reject with DatabaseInUseError, nothing changed', async () => {
    const dir = tempDir()
    const { db: a, model } = await loaded('inst', dir)
    const filesBefore = (await a.info()).files.count
    let compacted: 'pending' | 'resolved' | Error = 'pending'
    const compaction = a.compact().then(
      () => void (compacted = 'resolved'),
      (error: Error) => void (compacted = error),
    )
    await pastTheStart()
    const b = database('inst', { dir, compactEvery: 0 })
    // Before: b's first read waited for the whole compaction.
    expect(await b.get(doc(5, 0)._id)).toEqual(model.get(doc(5, 0)._id))
    expect(compacted).toBe('pending')
    const fromB = { _id: 'from-b', v: -1, text: 'written during the rewrite' }
    await b.put(fromB)
    model.set(fromB._id, fromB as Doc)
    await compaction
    expect(compacted).toBeInstanceOf(DatabaseInUseError)
    expect((compacted as unknown as Error).message).toMatch(/is open elsewhere .*compact\(\) deletes files the other may still read.*Nothing was changed$/)
    // Nothing was deleted: both read everything, and b's write reaches a.
    await expectAll(b, model, 'b')
    await expect.poll(async () => (await a.get('from-b').catch(() => undefined)) !== undefined).toBe(true)
    await expectAll(a, model, 'a')
    await b.close()

    // Alone again: it compacts, and what b wrote stays.
    await a.compact()
    expect((await a.info()).files.count).toBeLessThan(filesBefore)
    await expectAll(a, model, 'a compacted')
    await a.close()
    const reopened = database('inst', { dir })
    await expectAll(reopened, model, 'reopened')
    await reopened.close()
  }, 120_000)

  it('compact() while another instance is open rejects with DatabaseInUseError at once and writes nothing', async () => {
    const dir = tempDir()
    const a = database('busy', { dir, compactEvery: 0 })
    for (let i = 0; i < 50; i++) await a.put({ _id: `p${i}`, i })
    const b = database('busy', { dir })
    await b.get('p1')
    const files = (await a.info()).files.count
    // Before: it resolved without compacting.
    await expect(a.compact()).rejects.toBeInstanceOf(DatabaseInUseError)
    expect((await a.info()).files.count).toBe(files)
    await b.close()
    await a.compact()
    expect((await a.info()).files.count).toBeLessThan(files)
    expect((await a.allDocs()).rows).toHaveLength(50)
    await a.close()
  })

  it('an instance that opens, writes and closes during the rewrite: the compaction finishes alone, and its writes survive a reopen', async () => {
    const dir = tempDir()
    // Larger: the other instance opens, writes and closes well within the rewrite.
    const { db: a, model } = await loaded('brief', dir, 3 * DOCS)
    let done = false
    const compaction = a.compact().then(() => (done = true))
    await pastTheStart()
    const b = database('brief', { dir, compactEvery: 0 })
    const value = { _id: 'brief', v: 1, text: 'written by the other instance' }
    await b.put(value)
    model.set(value._id, value as Doc)
    await b.close()
    expect(done).toBe(false)
    await compaction
    await expectAll(a, model, 'a after the compaction')
    await a.close()
    const reopened = database('brief', { dir })
    await expectAll(reopened, model, 'reopened')
    await reopened.close()
  }, 120_000)

  for (const seed of [1, 2, 3]) {
    it(`random interleavings of two instances' writes, compactions (automatic and asked for), opens and closes keep every acknowledged write (seed ${seed})`, async () => {
      const random = seededRandom(seed)
      const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!
      const dir = tempDir()
      const options = { dir, compactEvery: 1 + Math.floor(random() * 8) }
      // Each instance writes its own ids, so what each holds of its own is exactly its model.
      const models = { a: new Map<string, unknown>(), b: new Map<string, unknown>() }
      let a = database('mix2', options)
      await bulkLoad(a, 2000, (i) => ({ _id: `a${i % 300}-${Math.floor(i / 300)}`, i }), (d) => models.a.set(d._id, d))
      let b: ReturnType<typeof database> | undefined
      const failures: string[] = []
      let inFlight: Promise<unknown>[] = []
      const compacting = (db: ReturnType<typeof database>) =>
        db.compact().catch((error: Error) => {
          // Refused while the other is open: said, nothing changed. Anything else is a failure.
          if (!(error instanceof DatabaseInUseError)) failures.push(`compact: ${error.name}: ${error.message}`)
        })
      for (let step = 0; step < 120; step++) {
        const op = pick(['putA', 'putA', 'putB', 'putB', 'compactA', 'compactB', 'openB', 'closeB', 'settle'] as const)
        const id = `${Math.floor(random() * 40)}`
        if (op === 'putA') {
          const value = { _id: `a${id}`, step }
          models.a.set(value._id, value)
          inFlight.push(a.put(value))
        } else if (op === 'putB' && b) {
          const value = { _id: `b${id}`, step }
          models.b.set(value._id, value)
          inFlight.push(b.put(value))
        } else if (op === 'compactA') {
          inFlight.push(compacting(a))
        } else if (op === 'compactB' && b) {
          inFlight.push(compacting(b))
        } else if (op === 'openB' && !b) {
          b = database('mix2', options)
        } else if (op === 'closeB' && b) {
          const closing = b
          b = undefined
          await Promise.allSettled(inFlight)
          inFlight = []
          await closing.close()
        } else if (op === 'settle') {
          for (const result of await Promise.allSettled(inFlight)) {
            if (result.status === 'rejected') failures.push(`step ${step}: ${(result.reason as Error).name}: ${(result.reason as Error).message}`)
          }
          inFlight = []
          // Each instance holds all of its own writes, and (once merged) the other's.
          const holders: [ReturnType<typeof database>, 'a' | 'b'][] = [[a, 'a']]
          if (b) holders.push([b, 'b'])
          for (const [db, own] of holders) {
            const rows = new Map((await db.allDocs()).rows.map((row) => [row.key, row.value]))
            for (const [key, value] of models[own]) {
              if (JSON.stringify(rows.get(key)) !== JSON.stringify(value)) failures.push(`step ${step}: ${own} reads ${key} as ${JSON.stringify(rows.get(key))}`)
            }
          }
          if (random() < 0.3) {
            await a.close()
            a = database('mix2', options)
          }
        }
      }
      for (const result of await Promise.allSettled(inFlight)) {
        if (result.status === 'rejected') failures.push(`end: ${(result.reason as Error).name}: ${(result.reason as Error).message}`)
      }
      await b?.close()
      await a.close()
      const reopened = database('mix2', { dir, compactEvery: 0 })
      const rows = new Map((await reopened.allDocs()).rows.map((row) => [row.key, row.value]))
      for (const [key, value] of [...models.a, ...models.b]) {
        if (JSON.stringify(rows.get(key)) !== JSON.stringify(value)) failures.push(`reopened: ${key} is ${JSON.stringify(rows.get(key))}`)
      }
      expect(rows.size).toBe(models.a.size + models.b.size)
      // Alone now: a compaction runs, and nothing is lost by it.
      await reopened.compact()
      expect((await reopened.allDocs()).rows.map((row) => row.value)).toEqual([...rows.values()])
      await reopened.close()
      expect(failures).toEqual([])
    }, 120_000)
  }
})
