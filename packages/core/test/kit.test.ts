import { describe, expect, it } from 'vitest'
import { base32upper } from 'multiformats/bases/base32'
import {
  checkName,
  fileCid,
  IntegrityError,
  isPermanentError,
  metaEntryFromWire,
  metaEntryToWire,
  parseFileCid,
  parseShareLink,
  shareLink,
  verifyCid,
} from '../src/kit.js'
import { database } from '../src/index.js'

const text = (s: string) => new TextEncoder().encode(s)

describe('@proj/core/kit', () => {
  it('verifyCid resolves for the bytes a CID names and throws the permanent IntegrityError otherwise', async () => {
    const cid = (await fileCid(text('a'))).toString()
    expect((await verifyCid(cid, text('a'))).toString()).toBe(cid)
    const error = await verifyCid(cid, text('b'), 'memory:x').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(IntegrityError)
    expect(isPermanentError(error)).toBe(true)
    expect((error as Error).message).toBe(`Integrity check failed for ${cid}: the bytes at memory:x hash to ${await fileCid(text('b'))}`)
  })

  it('parseFileCid accepts only the canonical spelling of a raw sha2-256 CIDv1, naming the value', async () => {
    const cid = await fileCid(text('a'))
    expect(parseFileCid(cid.toString()).equals(cid)).toBe(true)
    const upper = cid.toString(base32upper)
    expect(() => parseFileCid(upper)).toThrow(new TypeError(`Invalid CID: "${upper}" (not in its canonical form ${cid})`))
    expect(() => parseFileCid('../x')).toThrow(new TypeError('Invalid CID: "../x"'))
    expect(() => parseFileCid(7)).toThrow(new TypeError('Invalid CID: 7'))
  })

  it("checkName is database()'s rule, for databases and branches alike", () => {
    expect(checkName('todos.v2_a-b', 'x: name')).toBe('todos.v2_a-b')
    for (const bad of ['', '.hidden', '-x', 'a/b', '..', 'x'.repeat(129), 3]) {
      expect(() => checkName(bad, 'x: branch name'), String(bad)).toThrow(/^x: branch name must be 1-128 letters/)
    }
  })

  it('the text form of a meta entry round-trips and names a bad entry', async () => {
    const entry = { cid: (await fileCid(text('m'))).toString(), bytes: text('m') }
    expect(metaEntryFromWire(JSON.parse(JSON.stringify(metaEntryToWire(entry))), 'listing')).toEqual(entry)
    expect(() => metaEntryFromWire({ cid: 'c' }, 'listing L')).toThrow(/^listing L has an invalid entry/)
    expect(() => metaEntryFromWire({ cid: 'c', bytes: '@@' }, 'listing L')).toThrow('listing L has an entry "c" whose bytes are not valid base64')
  })

  it('a share link carries an optional snapshot and parses back', async () => {
    const key = await database('kit-share', { storage: 'memory' }).exportKey()
    const link = shareLink('https://app.example/', { db: 'todos', key, snapshot: 'bafkreiabc' })
    expect(parseShareLink(link)).toEqual({ db: 'todos', key, snapshot: 'bafkreiabc' })
    expect(link).toBe(`https://app.example/?db=todos&snapshot=bafkreiabc#key=${key}`)
    expect(() => shareLink('https://app.example/', { db: 'todos', key: '' })).toThrow('shareLink(): Invalid key: an empty string')
    expect(parseShareLink('https://app.example/?db=todos')).toEqual({ db: 'todos', key: undefined })
  })
})
