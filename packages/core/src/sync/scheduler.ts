/**
 * The waiting a sync does, in one place: the retry loop's sleep (which new work can cut short), plain delays,
 * repeating timers, and jittered exponential backoff. `close()` ends every wait at once, so a closed sync
 * never keeps a process alive. Time and randomness are injected so tests can drive them.
 */
export interface SchedulerOptions {
  /** Longest backoff in ms. */
  maxBackoff: number
  random?: () => number
  setTimer?: (run: () => void, ms: number) => unknown
  clearTimer?: (timer: unknown) => void
}

export class Scheduler {
  readonly #maxBackoff: number
  readonly #random: () => number
  readonly #setTimer: (run: () => void, ms: number) => unknown
  readonly #clearTimer: (timer: unknown) => void
  readonly #timers = new Set<unknown>()
  /** Ends pending waits early: the sleep's wake-up, and every delay's resolve. */
  readonly #enders = new Set<() => void>()
  #wake: (() => void) | undefined
  #closed = false

  constructor(options: SchedulerOptions) {
    this.#maxBackoff = options.maxBackoff
    this.#random = options.random ?? Math.random
    this.#setTimer = options.setTimer ?? ((run, ms) => setTimeout(run, ms))
    this.#clearTimer = options.clearTimer ?? ((timer) => clearTimeout(timer as ReturnType<typeof setTimeout>))
  }

  /**
   * A backoff for the `attempt`-th retry (from 0): `base * 2^attempt`, capped at maxBackoff, jittered into its
   * upper half so that replicas failing together do not retry together.
   */
  backoff(attempt: number, base: number): number {
    const ceiling = Math.min(base * 2 ** attempt, this.#maxBackoff)
    return ceiling / 2 + this.#random() * (ceiling / 2)
  }

  /** Runs `run` once after `ms` unless the scheduler closes first. */
  after(ms: number, run: () => void): void {
    if (this.#closed) return
    const timer = this.#setTimer(() => {
      this.#timers.delete(timer)
      run()
    }, ms)
    this.#timers.add(timer)
  }

  /** A wait that `wake()` or `close()` ends early (the retry loop's sleep: new work should not wait). */
  sleep(ms: number): Promise<void> {
    return this.#wait(ms, true)
  }

  /** A wait that only `close()` ends early. */
  delay(ms: number): Promise<void> {
    return this.#wait(ms, false)
  }

  /**
   * Settles as `call` does, or rejects with `onTimeout()` after `ms`, or with `onClose()` at close(): a backend
   * call that never settles must neither wedge the sync nor keep a closed sync waiting on it. The call itself
   * runs on (a connector call cannot be taken back); what it settles with later is ignored.
   */
  bound<T>(call: Promise<T>, ms: number, onTimeout: () => Error, onClose: () => Error): Promise<T> {
    if (this.#closed) {
      call.catch(() => {})
      return Promise.reject(onClose())
    }
    return new Promise<T>((resolve, reject) => {
      const done = () => {
        this.#clearTimer(timer)
        this.#timers.delete(timer)
        this.#enders.delete(end)
      }
      const end = () => {
        done()
        reject(onClose())
      }
      const timer = this.#setTimer(() => {
        done()
        reject(onTimeout())
      }, ms)
      this.#timers.add(timer)
      this.#enders.add(end)
      call.then(
        (value) => {
          done()
          resolve(value)
        },
        (error: unknown) => {
          done()
          reject(error)
        },
      )
    })
  }

  /** Ends the current sleep, if any. */
  wake(): void {
    this.#wake?.()
  }

  #wait(ms: number, wakeable: boolean): Promise<void> {
    return new Promise((resolve) => {
      if (this.#closed) return resolve()
      const end = () => {
        this.#clearTimer(timer)
        this.#timers.delete(timer)
        this.#enders.delete(end)
        if (this.#wake === end) this.#wake = undefined
        resolve()
      }
      const timer = this.#setTimer(end, ms)
      this.#timers.add(timer)
      this.#enders.add(end)
      if (wakeable) this.#wake = end
    })
  }

  close(): void {
    this.#closed = true
    for (const timer of this.#timers) this.#clearTimer(timer)
    this.#timers.clear()
    for (const end of [...this.#enders]) end()
  }
}
