import { database } from '@proj/core'
import { OptionError } from '@proj/core/kit'
import { closeAfterEach } from '@proj/test-utils'
import { describe, expect, it } from 'vitest'
import { connect } from '../src/index.js'

// connect.raw and connect.http take (db, target, options): options flat, their own next to core's SyncOptions.
const closeLater = closeAfterEach()
const memory = () => closeLater(database(`options-${crypto.randomUUID()}`, { storage: 'memory' }))
const fns = { upload: async () => {}, download: async () => undefined }

describe('connect.raw / connect.http options', () => {
  it('an unknown option is an OptionError naming it and listing the known ones', () => {
    const call = () => connect.http(memory(), 'http://127.0.0.1:1', { token: 't', polInterval: 10 } as never)
    expect(call).toThrow(OptionError)
    expect(call).toThrow(
      'connect.http: unknown option "polInterval" (the options are token, fetch, branch, pollInterval, maxBackoff, flushTimeout, callTimeout)',
    )
    expect(() => connect.raw(memory(), fns, { token: 't' } as never)).toThrow(
      'connect.raw: unknown option "token" (the options are branch, pollInterval, maxBackoff, flushTimeout, callTimeout)',
    )
  })

  it('a bad sync value is an OptionError naming the option and the value', () => {
    expect(() => connect.raw(memory(), fns, { pollInterval: -5 })).toThrow(
      new OptionError('connect.raw', 'pollInterval', 'option pollInterval must be a number of ms >= 0 (0: no polling), got number -5'),
    )
    expect(() => connect.http(memory(), 'http://127.0.0.1:1', { flushTimeout: '20s' as never })).toThrow(
      'connect.http: option flushTimeout must be a number of ms > 0, got the string "20s"',
    )
    expect(() => connect.raw(memory(), fns, { branch: '' })).toThrow('connect.raw: option branch must be a non-empty string, got the string ""')
  })

  it('the shared sync options reach the sync: pollInterval 0 and a branch work with both', async () => {
    const objects = new Map<string, Uint8Array>()
    const store = {
      upload: async (bytes: Uint8Array, p: { type: string; name: string; car?: string; branch?: string }) =>
        void objects.set(`${p.name}/${p.type}/${p.car ?? p.branch}`, bytes),
      download: async (p: { type: string; name: string; car?: string; branch?: string }) => objects.get(`${p.name}/${p.type}/${p.car ?? p.branch}`),
    }
    const db = memory()
    await db.put({ _id: 'a', title: 'milk' })
    const sync = connect.raw(db, store, { pollInterval: 0, branch: 'side', flushTimeout: 5_000 })
    await sync.flush()
    await sync.close()
    expect([...objects.keys()].filter((key) => key.includes('/meta/'))).toEqual([`${db.name}/meta/side`])
  })
})
