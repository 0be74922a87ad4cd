import type { Body } from '../crdt/entry.js'
import type { Clock } from './api.js'
import { Pace } from './next-turn.js'

/** One document write: its id and new body (null deletes). */
export type Op = [id: string, body: Body]

export interface PendingWrite {
  ops: Op[]
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

  write(ops: Op[]): Promise<Clock> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ ops, resolve, reject })
      if (!this.#scheduled) {
        this.#scheduled = true
        // With durability 'process' a commit never waits on I/O, so a loop of awaited puts would starve every
        // timer and I/O callback of the process (a sync's pull, a server's reply) until it ends: a commit
        // first lets the event loop turn when one is due (Pace). A turn per commit cost 5-10 % of single
        // puts/s (sequential-puts.ts). Writes arriving meanwhile join the transaction.
        void this.exclusive(async () => {
          const turn = this.#pace.due()
          if (turn) await turn
          await this.#drain()
        })
      }
    })
  }

  /** Runs `task` after every task queued before it. */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task)
    this.#tail = run.catch(() => {})
    return run
  }

  /** Resolves once every task queued so far has run. */
  idle(): Promise<void> {
    return this.exclusive(async () => {})
  }

  async #drain(): Promise<void> {
    this.#scheduled = false
    const batch = this.#pending.splice(0)
    if (batch.length === 0) return
    try {
      await this.#commit(batch)
    } catch (error) {
      // Writes already settled (rejected alone, or committed) ignore this.
      for (const write of batch) write.reject(error)
    }
  }
}
