import { describe, expect, it } from 'vitest'
import { database } from '../src/index.js'
import { memoryBackend } from './memory-backend.js'

/** The TypeError `fn` throws (synchronously: nothing was opened or written). */
function thrown(fn: () => unknown): Error {
  try {
    fn()
  } catch (error) {
    return error as Error
  }
  throw new Error('did not throw')
}

describe('database() and connect() options', () => {
  it('a misspelled option or a value no option takes is a TypeError naming it, before anything opens', () => {
    const refused = (options: Record<string, unknown>, message: RegExp) => {
      const error = thrown(() => database('opts', { storage: 'memory', ...options }))
      expect(error).toBeInstanceOf(TypeError)
      expect(error.message).toMatch(message)
    }
    // Before: accepted, and compaction silently stayed at its default.
    refused({ compactevery: 5 }, /^database\("opts"\): unknown option "compactevery" \(the options are dir, key, storage, durability, branch, compactEvery, cacheBytes\)$/)
    refused({ autoCompaction: true }, /unknown option "autoCompaction"/)
    // Before: accepted (-1 and 2.5 files).
    refused({ compactEvery: -1 }, /compactEvery must be a whole number of files \(0: never automatically\), got number -1/)
    refused({ compactEvery: 2.5 }, /compactEvery must be a whole number of files/)
    // Before: '' wrote into the working directory.
    refused({ dir: '' }, /dir must be a non-empty path, got the string ""/)
    refused({ dir: 5 }, /dir must be a non-empty path, got number 5/)
    // Before: a raw ENOENT from the file system at the first write.
    refused({ branch: 'a/b' }, /^database\("opts"\): branch must be 1-128 letters, digits/)
    refused({ cacheBytes: 0 }, /cacheBytes must be a positive integer/)
    expect(thrown(() => database('opts', null as never)).message).toMatch(/options must be an object, got null/)
    // What every option takes still opens.
    const db = database('opts', { storage: 'memory', dir: 'x', branch: 'main-2', compactEvery: 0, cacheBytes: 1 << 20, durability: 'process' })
    return db.close()
  })

  it('connect() refuses what is not a connector, and sync options it does not know, at once', async () => {
    const db = database('connect-opts', { storage: 'memory' })
    const backend = memoryBackend()
    // Before: null was a bare "Cannot read properties of null", and {} a sync stuck 'offline' retrying a TypeError.
    expect(thrown(() => db.connect(null as never))).toBeInstanceOf(TypeError)
    expect(thrown(() => db.connect(null as never)).message).toMatch(/^connect\(\) expects a connector \(an object with upload, download, save, load and a name\), got null$/)
    expect(thrown(() => db.connect({} as never)).message).toMatch(/^connect\(\): the connector has no upload, download, save, load methods/)
    const { save: _save, ...noSave } = backend()
    expect(thrown(() => db.connect(noSave as never)).message).toMatch(/^connect\(\): the connector has no save method \(/)
    expect(thrown(() => db.connect({ ...backend(), name: '' })).message).toMatch(/the connector's name must be a non-empty string/)
    // Before: accepted (a negative poll interval; an option no sync has).
    expect(thrown(() => db.connect(backend(), { pollInterval: -5 })).message).toMatch(/option pollInterval must be a number of ms >= 0/)
    expect(thrown(() => db.connect(backend(), { pollIntervall: 10 } as never)).message).toMatch(/unknown option "pollIntervall"/)
    expect((await db.info()).syncs).toEqual([]) // nothing refused was connected
    const sync = db.connect(backend(), { pollInterval: 0 })
    await sync.ready
    await sync.close()
    await db.close()
  })
})
