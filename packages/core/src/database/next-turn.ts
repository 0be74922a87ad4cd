/**
 * Resolves on a later turn of the event loop, after pending timers and I/O callbacks. Node: setImmediate;
 * browsers: a MessageChannel message (setTimeout(0) is clamped to 4 ms once nested).
 */
export function nextTurn(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve))
  return new Promise((resolve) => {
    const channel = new MessageChannel()
    channel.port1.onmessage = () => {
      channel.port1.close()
      resolve()
    }
    channel.port2.postMessage(null)
  })
}

/** The longest a long task (a compaction's rewrite, a run of reads answered from memory) keeps the event loop from turning. */
const TURN_EVERY_MS = 4

/**
 * Lets the event loop turn every TURN_EVERY_MS of a long task made of steps that resolve on microtasks alone
 * (reads of cached blocks): without a turn, timers and I/O callbacks (a write's commit, which waits for a turn
 * in write-queue.ts; a sync's pull) wait for the whole task.
 */
export class Pace {
  #lastTurn = performance.now()

  /** A turn when one is due (await it), undefined otherwise (no promise allocated per step). */
  due(): Promise<void> | undefined {
    if (!this.isDue()) return undefined
    return nextTurn().then(() => {
      this.#lastTurn = performance.now()
    })
  }

  isDue(): boolean {
    return performance.now() - this.#lastTurn >= TURN_EVERY_MS
  }
}
