import { database } from '@proj/core'
import { OptionError } from '@proj/core/kit'
import { closeAfterEach } from '@proj/test-utils'
import { expect, it } from 'vitest'
import { connect } from '../src/index.js'

// connect.ipfs(db, target, options): the target says which gateway (and client or snapshot), options are
// core's SyncOptions.
const closeLater = closeAfterEach()
const memory = () => closeLater(database(`options-${crypto.randomUUID()}`, { storage: 'memory' }))

it('a sync option in the target is an OptionError saying where it goes', () => {
  const call = () => connect.ipfs(memory(), { gateway: 'http://127.0.0.1:1', snapshot: 'x', flushTimeout: 5 } as never)
  expect(call).toThrow(OptionError)
  expect(call).toThrow(
    'connect.ipfs: unknown option "flushTimeout" in the target (the target takes client, gateway, meta, snapshot, fetch); sync options go in the third argument, options',
  )
})

it('a bad sync value in options is an OptionError naming the option', () => {
  expect(() => connect.ipfs(memory(), { gateway: 'http://127.0.0.1:1', snapshot: 'x' }, { pollInterval: Number.NaN })).toThrow(
    'connect.ipfs: option pollInterval must be a number of ms >= 0 (0: no polling), got number NaN',
  )
  expect(() => connect.ipfs(memory(), undefined as never)).toThrow(
    'connect.ipfs: the target must be { client, gateway, meta? } or { gateway, snapshot }, got undefined',
  )
})
