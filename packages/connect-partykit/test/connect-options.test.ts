import { database } from '@proj/core'
import { OptionError } from '@proj/core/kit'
import { closeAfterEach } from '@proj/test-utils'
import { expect, it } from 'vitest'
import { connect } from '../src/index.js'

// connect.partykit(db, host, options): options flat, the connector's own next to core's SyncOptions.
const closeLater = closeAfterEach()
const memory = () => closeLater(database(`options-${crypto.randomUUID()}`, { storage: 'memory' }))

it('an unknown option is an OptionError naming it, never echoing the values', () => {
  const call = () => connect.partykit(memory(), 'http://127.0.0.1:1', { token: 'secret-token-42', sync: { pollInterval: 5 } } as never)
  expect(call).toThrow(OptionError)
  expect(call).toThrow(
    'connect.partykit: unknown option "sync" (the options are room, party, token, WebSocket, fetch, timeout, maxReconnectionDelay, heartbeat, branch, pollInterval, maxBackoff, flushTimeout, callTimeout)',
  )
  expect(() => call()).not.toThrow(/secret-token-42/)
})

it('a bad sync value is an OptionError naming the option and the value', () => {
  expect(() => connect.partykit(memory(), 'http://127.0.0.1:1', { maxBackoff: -1 })).toThrow(
    'connect.partykit: option maxBackoff must be a number of ms > 0, got number -1',
  )
})
