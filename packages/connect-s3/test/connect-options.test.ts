import { database } from '@proj/core'
import { OptionError } from '@proj/core/kit'
import { closeAfterEach } from '@proj/test-utils'
import { expect, it } from 'vitest'
import { connect } from '../src/index.js'

// connect.s3(db, target, options): the target says which bucket, options are core's SyncOptions.
const closeLater = closeAfterEach()
const memory = () => closeLater(database(`options-${crypto.randomUUID()}`, { storage: 'memory' }))
const target = { bucket: 'b', s3: { endpoint: 'http://127.0.0.1:1' } }

it('a sync option in the target is an OptionError saying where it goes', () => {
  const call = () => connect.s3(memory(), { ...target, pollInterval: 100 } as never)
  expect(call).toThrow(OptionError)
  expect(call).toThrow(
    'connect.s3: unknown option "pollInterval" in the target (the target takes bucket, prefix, s3, client, checksum, sync); sync options go in the third argument, options',
  )
})

it('sync options are checked in the third argument and in the older nested `sync` alike', () => {
  expect(() => connect.s3(memory(), target, { maxBackoff: 0 })).toThrow('connect.s3: option maxBackoff must be a number of ms > 0, got number 0')
  expect(() => connect.s3(memory(), { ...target, sync: { maxBackoff: 0 } })).toThrow(
    'connect.s3: option maxBackoff must be a number of ms > 0, got number 0',
  )
  expect(() => connect.s3(memory(), target, { pollIntervall: 5 } as never)).toThrow(
    'connect.s3: unknown option "pollIntervall" (the options are branch, pollInterval, maxBackoff, flushTimeout, callTimeout)',
  )
})
