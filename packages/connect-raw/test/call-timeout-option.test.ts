import { database, type ConnectorError } from '@proj/core'
import { OptionError } from '@proj/core/kit'
import { closeAfterEach } from '@proj/test-utils'
import { MemoryConnector } from '@proj/connector-tests/memory'
import { expect, it } from 'vitest'
import { connect, type RawParams } from '../src/index.js'

// callTimeout: how long one backend call may go unanswered, set through the connect options like every sync option.
const closeLater = closeAfterEach()
const memory = () => closeLater(database(`call-timeout-${crypto.randomUUID()}`, { storage: 'memory' }))
const fns = { upload: async () => {}, download: async () => undefined }

it('a bad callTimeout is an OptionError naming the option and the value', () => {
  for (const [value, shown] of [
    [0, 'number 0'],
    [-1, 'number -1'],
    [Number.NaN, 'number NaN'],
    ['5s', 'the string "5s"'],
  ] as const) {
    const call = () => connect.raw(memory(), fns, { callTimeout: value as number })
    expect(call).toThrow(OptionError)
    expect(call).toThrow(`connect.raw: option callTimeout must be a number of ms > 0, got ${shown}`)
  }
  expect(() => memory().connect(new MemoryConnector(), { callTimeout: Infinity })).toThrow(
    'connect(): option callTimeout must be a number of ms > 0, got number Infinity',
  )
})

it('callTimeout bounds each call, independently of flushTimeout: a meta read that hangs fails after it and is retried', async () => {
  const objects = new Map<string, Uint8Array>()
  let metaReads = 0
  const name = ({ type, car, branch }: RawParams) => `${type}/${car ?? branch}`
  const hanging = {
    upload: async (bytes: Uint8Array, params: RawParams) => void objects.set(name(params), bytes.slice()),
    // The first meta read never answers (a connection that died without a reset).
    download: async (params: RawParams) => (params.type === 'meta' && ++metaReads === 1 ? new Promise<never>(() => {}) : objects.get(name(params))),
  }
  const sync = closeLater(connect.raw(memory(), hanging, { pollInterval: 0, maxBackoff: 50, flushTimeout: 600_000, callTimeout: 150 }))
  const errors: ConnectorError[] = []
  sync.on('error', (error) => errors.push(error))
  // With flushTimeout's half as the allowance this would wait 300 s.
  await sync.ready
  expect(metaReads).toBe(2)
  expect(errors.map((error) => [error.op, error.permanent, error.message])).toEqual([
    ['load', false, 'Connector raw failed to load: no answer within 150 ms'],
  ])
})
