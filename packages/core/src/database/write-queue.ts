import type { Body } from '../crdt/entry.js'
import type { Clock } from './api.js'
import { Pace } from './next-turn.js'

/** One document write: its id and new body (null deletes). */
export type Op = [id: string, body: Body]

export interface PendingWrite {
  ops: Op[]
  /** Commit only at this clock (sorted event CIDs): `bulk(docs, { ifClock })`. */
  ifClock?: readonly string[]
  resolve: (clock: Clock) => void
  reject: (error: unknown) => void
}

/**
 * Runs a database's tasks one at a time (commits, merges, index updates, compactions), and gathers the
 * writes that queue up while one runs into the next transaction.
 */
export class WriteQueue {
  readonly #commit: (batch: PendingWrite[]) => Promise<void>
  #pending: PendingWrite[] = []
  #scheduled = false
  #tail: Promise<unknown> = Promise.resolve()
  readonly #pace = new Pace()

  /** `commit` settles the writes of a batch it accepts; when it throws, every write of the batch rejects. */
  constructor(commit: (batch: PendingWrite[]) => Promise<void>) {
    this.#commit = commit
  }

  write(ops: Op[], ifClock?: readonly string[]): Promise<Clock> {
    return new Promise((resolve, reject) => {
      this.#pending.push(ifClock ? { ops, ifClock, resolve, reject } : { ops, resolve, reject })
      if (!this.#scheduled) {
        this.#scheduled = true
        // With durability 'process' a commit never waits on I/O, so a loop of awaited puts would starve every
        // timer and I/O callback of the process (a sync's pull, a server's reply) until it ends: a commit
        // first lets the event loop turn when one is due (Pace). A turn per commit cost 5-10 % of single
        // puts/s (sequential-puts.ts). Writes arriving meanwhile join the transaction.
        void this.exclusive(async (done) => {
          const turn = this.#pace.due()
          if (turn) await turn
          await this.#drain(done)
        })
      }
    })
  }

  /**
   * Runs `task` after every task queued before it. The task may call `done` once nothing it does remains
   * but settling promises (see `isFree`); it counts as done when it settles otherwise.
   */
  exclusive<T>(task: (done: () => void) => Promise<T>): Promise<T> {
    this.#queued++
    let counted = true
    const done = () => {
      if (!counted) return
      counted = false
      this.#queued--
    }
    const run = this.#tail.then(() => task(done))
    this.#tail = run.then(done, done)
    return run
  }

  /** Tasks queued or running. */
  #queued = 0

  /**
   * Whether a write may be made now, outside the queue (database.ts: the common transaction done in one
   * synchronous step): nothing queued or running, so it is ordered after everything before it and before
   * everything after it, as a queued write would be. Its caller then takes the turn of the event loop a
   * queued write would have taken first (`turnDue`).
   */
  isFree(): boolean {
    return this.#queued === 0 && this.#pending.length === 0
  }

  /** The turn of the event loop a run of writes lets happen every few ms (see `write`), when one is due. */
  turnDue(): Promise<void> | undefined {
    return this.#pace.due()
  }

  /** Resolves once every task queued so far has run. */
  idle(): Promise<void> {
    return this.exclusive(async () => {})
  }

  /**
   * Commits the writes queued so far. The last of them to settle marks the task done (`done`): its writer's
   * next put, which runs on the microtask after, finds the queue free (isFree) although this task's own
   * promises have not settled yet, and takes the one-step path (database.ts #writeNow). Settling is the last
   * thing a commit does, so nothing of it runs after.
   */
  async #drain(done: () => void): Promise<void> {
    this.#scheduled = false
    const batch = this.#pending.splice(0)
    if (batch.length === 0) return
    let unsettled = batch.length
    const settled = () => {
      if (--unsettled === 0) done()
    }
    for (let i = 0; i < batch.length; i++) {
      const write = batch[i]!
      const { resolve, reject } = write
      let open = true
      write.resolve = (clock) => {
        if (open) (open = false), settled()
        resolve(clock)
      }
      write.reject = (error) => {
        if (open) (open = false), settled()
        reject(error)
      }
    }
    try {
      await this.#commit(batch)
    } catch (error) {
      // Writes already settled (rejected alone, or committed) ignore this.
      for (const write of batch) write.reject(error)
    }
  }
}
