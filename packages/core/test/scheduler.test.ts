import { expect, it } from 'vitest'
import { Scheduler } from '../src/sync/scheduler.js'
import { manualTimers } from './manual-timers.js'

it('backoff doubles from its base, is capped at maxBackoff, and is jittered into its upper half', () => {
  let random = 0
  const scheduler = new Scheduler({ maxBackoff: 1_000, random: () => random })
  expect([0, 1, 2, 3].map((attempt) => scheduler.backoff(attempt, 100))).toEqual([50, 100, 200, 400])
  expect(scheduler.backoff(10, 100)).toBe(500)
  random = 0.999
  expect(scheduler.backoff(0, 100)).toBeCloseTo(99.95)
  expect(scheduler.backoff(10, 100)).toBeCloseTo(999.5)
})

it('wake() ends the sleep but not a delay; close() ends every wait and cancels timers', async () => {
  const timers = manualTimers()
  const scheduler = new Scheduler({ maxBackoff: 1_000, ...timers })
  const ended: string[] = []
  const sleep = scheduler.sleep(60_000).then(() => ended.push('sleep'))
  const delay = scheduler.delay(60_000).then(() => ended.push('delay'))
  let ran = false
  scheduler.after(60_000, () => (ran = true))
  scheduler.wake()
  await sleep
  expect(ended).toEqual(['sleep'])
  scheduler.close()
  await delay
  expect(ended).toEqual(['sleep', 'delay'])
  expect(timers.count).toBe(0)
  timers.fireAll()
  expect(ran).toBe(false)
  // Closed: waits end at once, timers never start.
  await scheduler.sleep(60_000)
  scheduler.after(1, () => (ran = true))
  expect(timers.count).toBe(0)
})

it('a timer that fires removes itself', async () => {
  const timers = manualTimers()
  const scheduler = new Scheduler({ maxBackoff: 1_000, ...timers })
  const delay = scheduler.delay(5)
  timers.fireAll()
  await delay
  expect(timers.count).toBe(0)
})
