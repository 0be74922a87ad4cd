import { expect, it } from 'vitest'
import { database } from '@proj/core'
import { tempDir } from './helpers.js'
import { memoryBackend } from './memory-backend.js'

it('two instances over one directory end on the same clock when a merge joins clocks but changes no document', async () => {
  const dir = tempDir()
  const [first, second] = [memoryBackend(), memoryBackend()]
  const a = database('shared', { dir })
  const b = database('shared', { dir })
  const elsewhere = database('shared', { dir: tempDir(), key: await a.exportKey() })
  await a.put({ _id: 'p1' })
  const aSecond = a.connect(second(), { pollInterval: 0 })
  await aSecond.flush()
  await elsewhere.put({ _id: 'q1' })
  const elsewhereFirst = elsewhere.connect(first(), { pollInterval: 0 })
  await elsewhereFirst.flush()
  await elsewhereFirst.close()
  // elsewhere merges p1 with q1 and pushes that merge to the second backend only.
  const elsewhereSecond = elsewhere.connect(second(), { pollInterval: 0 })
  await elsewhereSecond.refresh()
  await elsewhereSecond.flush()
  // a writes p2 and merges q1 from the first backend: its own merge of the same writes.
  await a.put({ _id: 'p2' })
  const aFirst = a.connect(first(), { pollInterval: 0 })
  await aFirst.refresh()
  const before = await a.clock()
  await expect.poll(() => b.clock()).toEqual(before)
  // Joining elsewhere's merge adds no document: the tree stays, the clock moves.
  await aSecond.refresh()
  const joined = await a.clock()
  expect(joined).not.toEqual(before)
  await expect.poll(() => b.clock(), { timeout: 5_000 }).toEqual(joined)
  expect((await b.allDocs()).rows.map((row) => row.key)).toEqual(['p1', 'p2', 'q1'])
  await Promise.all([aFirst.close(), aSecond.close(), elsewhereSecond.close()])
  await Promise.all([a.close(), b.close(), elsewhere.close()])
})
