import { describe, expect, it } from 'vitest'
import { IntegrityError } from '@proj/core/kit'
import { MemoryConnector, fileCid, metaEntry, runConnectorTests } from '../src/index.js'

runConnectorTests('memory', async () => {
  const connector = new MemoryConnector()
  return { connector, peer: async () => connector.peer() }
}, { subscribe: true })

describe('fileCid', () => {
  it('is the CIDv1 raw sha2-256 base32 string of the bytes', async () => {
    // sha2-256 of the empty string as a raw CIDv1
    expect(await fileCid(new Uint8Array())).toBe('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku')
  })

  it('metaEntry names the bytes by their cid', async () => {
    const bytes = new TextEncoder().encode('meta')
    expect(await metaEntry(bytes)).toEqual({ cid: await fileCid(bytes), bytes })
  })
})

describe('MemoryConnector', () => {
  it('rejects bytes that do not hash to the cid', async () => {
    const connector = new MemoryConnector()
    const cid = await fileCid(new TextEncoder().encode('a'))
    await expect(connector.upload('db', cid, new TextEncoder().encode('b'))).rejects.toThrow(
      new IntegrityError(cid, `file bytes hash to ${await fileCid(new TextEncoder().encode('b'))}`),
    )
    expect(await connector.download('db', cid)).toBeUndefined()
  })

  it('rejects an invalid cid with a TypeError', async () => {
    const connector = new MemoryConnector()
    await expect(connector.upload('db', 'nope', new Uint8Array())).rejects.toThrow(TypeError)
  })
})
