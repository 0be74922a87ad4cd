import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fileCid, metaEntry, runConnectorTests } from '@proj/connector-tests'
import { dirConnector } from '../src/dir.js'

runConnectorTests(
  'dir',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'proj-dir-'))
    return {
      connector: dirConnector(dir),
      peer: async () => dirConnector(dir),
      teardown: () => rm(dir, { recursive: true, force: true }),
    }
  },
  { subscribe: false },
)

describe('dirConnector layout', () => {
  it('writes files and meta where a static server serves them, and no temp files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'proj-dir-'))
    try {
      const connector = dirConnector(dir)
      const bytes = new TextEncoder().encode('file')
      const cid = await fileCid(bytes)
      await connector.upload('todos', cid, bytes)
      const a = await metaEntry(new TextEncoder().encode('a'))
      const b = await metaEntry(new TextEncoder().encode('b'))
      await connector.save('todos', 'main', a, [])
      await connector.save('todos', 'main', b, [a.cid])
      expect(new Uint8Array(await readFile(join(dir, 'todos', 'data', cid)))).toEqual(bytes)
      expect(JSON.parse(await readFile(join(dir, 'todos', 'meta', 'main.json'), 'utf8'))).toEqual([
        { cid: b.cid, bytes: Buffer.from('b').toString('base64') },
      ])
      expect(await readdir(join(dir, 'todos', 'meta', 'main'))).toEqual([b.cid])
      expect(await readdir(join(dir, '.tmp'))).toEqual([])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
