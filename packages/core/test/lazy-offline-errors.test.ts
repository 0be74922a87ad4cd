import { expect, it } from 'vitest'
import { database, HistoryUnavailableError, MissingBlockError } from '../src/index.js'
import { seededBackend, tempDir } from './helpers.js'

it('a device that reads lazily, offline: the errors name the block wanted and its file, and blame no compaction', async () => {
  const { backend, key } = await seededBackend('lazy-errors', 5000)

  const lazy = database('lazy-errors', { dir: tempDir(), key, compactEvery: 0 })
  const sync = lazy.connect(backend(), { pollInterval: 0 })
  await sync.ready
  expect(await lazy.get('d00007')).toMatchObject({ i: 7 })
  await sync.close()

  // Before: "Block <the file's CID> cannot be found": the file named as if it were the block.
  const missing = (await lazy.get('d04999').catch((e: unknown) => e)) as MissingBlockError
  expect(missing).toBeInstanceOf(MissingBlockError)
  const file = /the file (\S+) that holds it is stored neither locally nor at any connected source/.exec(missing.message)?.[1]
  expect(file, missing.message).toBeDefined()
  expect(missing.cid).not.toBe(file)
  expect(missing.message.startsWith(`Block ${missing.cid} cannot be found: `)).toBe(true)
  expect((missing.cause as MissingBlockError).cid).toBe(file)

  // Before: "it predates a compaction that removed its local files", on a device that never compacted.
  const history = await (await lazy.at(await lazy.clock())).allDocs().catch((e: unknown) => e)
  expect(history).toBeInstanceOf(HistoryUnavailableError)
  expect((history as Error).message).toMatch(/files it needs are not stored here \(a compaction removed them, or this device reads lazily and never downloaded them\) and no connected replica serves them$/)
  await lazy.close()
})
