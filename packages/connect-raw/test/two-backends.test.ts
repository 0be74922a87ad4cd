import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { database } from '@proj/core'
import { dirConnector } from '../src/dir.js'

const dirs: string[] = []
const temp = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'proj-two-'))
  dirs.push(dir)
  return dir
}
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

describe('two backends of the same kind on one database', () => {
  it('the second backend gets every file after a restart, and restores the database alone', async () => {
    const [local, first, second, restoreDir] = [await temp(), await temp(), await temp(), await temp()]
    const db = database('notes', { dir: local })
    const toFirst = db.connect(dirConnector(first), { pollInterval: 0 })
    await db.bulk(Array.from({ length: 50 }, (_, i) => ({ _id: `n${i}`, i })))
    await db.put({ _id: 'n7', i: 'seven' })
    await toFirst.flush()
    await toFirst.close()
    const key = await db.exportKey()
    await db.close()

    // Restart, then replicate to a second folder: what the first one holds says nothing about the second.
    const again = database('notes', { dir: local })
    const toSecond = again.connect(dirConnector(second), { pollInterval: 0 })
    await toSecond.flush()
    await toSecond.close()
    await again.close()

    const restored = database('notes', { dir: restoreDir, key })
    const fromSecond = restored.connect(dirConnector(second), { pollInterval: 0 })
    await fromSecond.ready
    const { rows } = await restored.allDocs()
    expect(rows).toHaveLength(50)
    expect(await restored.get('n7')).toEqual({ _id: 'n7', i: 'seven' })
    await fromSecond.close()
    await restored.close()
  })
})
