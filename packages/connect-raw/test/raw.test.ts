import { describe, expect, it } from 'vitest'
import { fileCid, metaEntry, runConnectorTests } from '@proj/connector-tests'
import { IntegrityError, isPermanentError } from '@proj/core/kit'
import { rawConnector, type RawParams } from '../src/index.js'

/** The seed's two functions over a Map: what a user would write for any key-value store. */
function mapStore() {
  const objects = new Map<string, Uint8Array>()
  const key = (p: RawParams) => `${p.name}/${p.type}/${p.type === 'meta' ? p.branch : p.car}`
  return {
    objects,
    upload: async (bytes: Uint8Array, params: RawParams) => void objects.set(key(params), bytes.slice()),
    download: async (params: RawParams) => objects.get(key(params))?.slice(),
  }
}

runConnectorTests(
  'raw (Map)',
  async () => {
    const store = mapStore()
    const fns = { upload: store.upload, download: store.download }
    return { connector: rawConnector(fns), peer: async () => rawConnector(fns), singleMeta: true }
  },
  { singleMeta: true, subscribe: false },
)

describe('rawConnector', () => {
  it('calls upload and download with the seed parameters', async () => {
    const calls: unknown[] = []
    const objects = new Map<string, Uint8Array>()
    const connector = rawConnector({
      upload: (bytes, params) => {
        calls.push(['upload', params])
        objects.set(JSON.stringify(params), bytes)
      },
      download: (params) => {
        calls.push(['download', params])
        return objects.get(JSON.stringify(params))
      },
    })
    const bytes = new TextEncoder().encode('file')
    const cid = await fileCid(bytes)
    await connector.upload('todos', cid, bytes)
    expect(await connector.download('todos', cid)).toEqual(bytes)
    const entry = await metaEntry(new TextEncoder().encode('meta'))
    await connector.save('todos', 'main', entry, [])
    expect(await connector.load('todos', 'main')).toEqual([entry])
    expect(calls).toEqual([
      ['upload', { type: 'data', name: 'todos', car: cid }],
      ['download', { type: 'data', name: 'todos', car: cid }],
      // A save reads the blob first: it never overwrites one it has not seen.
      ['download', { type: 'meta', name: 'todos', branch: 'main' }],
      ['upload', { type: 'meta', name: 'todos', branch: 'main' }],
      ['download', { type: 'meta', name: 'todos', branch: 'main' }],
    ])
  })

  it('rejects bytes that do not hash to the cid before calling upload', async () => {
    const store = mapStore()
    const connector = rawConnector(store)
    const cid = await fileCid(new TextEncoder().encode('a'))
    const error = await connector.upload('todos', cid, new TextEncoder().encode('b')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(IntegrityError)
    expect((error as Error).message).toBe(`Integrity check failed for ${cid}: file bytes hash to ${await fileCid(new TextEncoder().encode('b'))}`)
    expect(store.objects.size).toBe(0)
  })

  it('rejects missing functions and bad names with a TypeError', async () => {
    expect(() => rawConnector({} as never)).toThrow(TypeError)
    const connector = rawConnector(mapStore())
    await expect(connector.load('../x', 'main')).rejects.toThrow(`database name must be 1-128 letters, digits, '.', '_' or '-' (not starting with a symbol), got the string "../x"`)
    await expect(connector.load('todos', 'a/b')).rejects.toThrow(`branch name must be 1-128 letters, digits, '.', '_' or '-' (not starting with a symbol), got the string "a/b"`)
    await expect(connector.load('todos', 'a.json')).rejects.toThrow(`branch name "a.json" must not contain '.' in this store`)
  })

  it('a save never overwrites a meta blob another client saved since this one loaded: transient, and nothing is written', async () => {
    const store = mapStore()
    const mine = rawConnector(store)
    const theirs = rawConnector(store)
    const first = await metaEntry(new TextEncoder().encode('first'))
    const other = await metaEntry(new TextEncoder().encode('saved by the other client'))
    const next = await metaEntry(new TextEncoder().encode('next'))
    await mine.save('todos', 'main', first, [])
    // Sync loads before it saves: the other client has seen `first`.
    expect(await theirs.load('todos', 'main')).toEqual([first])
    await theirs.save('todos', 'main', other, [])
    const refused = await mine.save('todos', 'main', next, [first.cid]).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(Error)
    expect((refused as Error).message).toBe(
      `the meta blob of "todos" branch "main" is ${other.cid}, saved by another device since this one last loaded it: not overwriting it before it is merged`,
    )
    expect(isPermanentError(refused)).toBe(false)
    expect(await theirs.load('todos', 'main')).toEqual([other])
    // Once loaded (sync merges what it loads), or named in replaces, it may be overwritten.
    expect(await mine.load('todos', 'main')).toEqual([other])
    await mine.save('todos', 'main', next, [])
    expect(await theirs.load('todos', 'main')).toEqual([next])
    await theirs.save('todos', 'main', first, [next.cid])
    expect(await mine.load('todos', 'main')).toEqual([first])
  })

  it('rejects a download that is not bytes', async () => {
    const connector = rawConnector({ upload: () => {}, download: () => 'text' as never })
    await expect(connector.load('todos', 'main')).rejects.toThrow(TypeError)
  })
})
