import { expect, it } from 'vitest'
import { Scheduler } from '../src/sync/scheduler.js'
import { manualTimers } from './manual-timers.js'

const never = new Promise<never>(() => {})
const reasons = { timeout: () => new Error('timed out'), closed: () => new Error('closed') }

it('bound(): settles as the call does and leaves no timer behind', async () => {
  const timers = manualTimers()
  const scheduler = new Scheduler({ maxBackoff: 1_000, ...timers })
  await expect(scheduler.bound(Promise.resolve(7), 1_000, reasons.timeout, reasons.closed)).resolves.toBe(7)
  await expect(scheduler.bound(Promise.reject(new Error('no')), 1_000, reasons.timeout, reasons.closed)).rejects.toThrow('no')
  expect(timers.count).toBe(0)
})

it('bound(): a call that never settles rejects with the timeout error when its timer fires', async () => {
  const timers = manualTimers()
  const scheduler = new Scheduler({ maxBackoff: 1_000, ...timers })
  const bounded = scheduler.bound(never, 1_000, reasons.timeout, reasons.closed)
  timers.fireAll()
  await expect(bounded).rejects.toThrow('timed out')
  expect(timers.count).toBe(0)
})

it('bound(): close() rejects every call still waited on with the closed error; after close, at once', async () => {
  const timers = manualTimers()
  const scheduler = new Scheduler({ maxBackoff: 1_000, ...timers })
  const bounded = [scheduler.bound(never, 1_000, reasons.timeout, reasons.closed), scheduler.bound(never, 5, reasons.timeout, reasons.closed)]
  scheduler.close()
  for (const call of bounded) await expect(call).rejects.toThrow('closed')
  expect(timers.count).toBe(0)
  await expect(scheduler.bound(Promise.resolve(1), 1_000, reasons.timeout, reasons.closed)).rejects.toThrow('closed')
})

it('bound(): a call that settles after its timeout changes nothing (and raises no unhandled rejection)', async () => {
  const timers = manualTimers()
  const scheduler = new Scheduler({ maxBackoff: 1_000, ...timers })
  let fail!: (error: Error) => void
  const late = new Promise<never>((_, reject) => (fail = reject))
  const bounded = scheduler.bound(late, 1_000, reasons.timeout, reasons.closed)
  timers.fireAll()
  await expect(bounded).rejects.toThrow('timed out')
  fail(new Error('late failure'))
  await new Promise((resolve) => setTimeout(resolve, 0))
})
