import { nextTurn } from './next-turn.js'

/**
 * The longest a compaction's background work keeps the event loop from turning. Its reads of cached blocks
 * and its index rebuild resolve on microtasks alone, so without a turn a write issued meanwhile (whose
 * commit waits for a turn, write-queue.ts) waited for the whole rewrite as if it held the write queue.
 */
const TURN_EVERY_MS = 4

/** Lets the event loop turn every TURN_EVERY_MS of a long task. */
export class Pace {
  #lastTurn = performance.now()

  /** A turn when one is due (await it), undefined otherwise (no promise allocated per step). */
  due(): Promise<void> | undefined {
    if (performance.now() - this.#lastTurn < TURN_EVERY_MS) return undefined
    return nextTurn().then(() => {
      this.#lastTurn = performance.now()
    })
  }
}
