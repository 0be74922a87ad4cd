import type { Connector, MetaEntry } from '@proj/core/connector'

/** A small seeded PRNG (mulberry32), so a failing run can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface FaultOptions {
  /** Probability that a call fails (half before reaching the backend, half after: a lost reply). */
  failure?: number
  /** Probability that a call is performed twice (a retried request). */
  duplicate?: number
  /** Upper bound of a random delay per call, in ms (random delays also reorder concurrent calls). */
  maxDelay?: number
  /** Probability that a pushed meta notification is dropped. */
  dropPush?: number
}

export class InjectedFault extends Error {
  override readonly name = 'InjectedFault'
}

/**
 * Wraps a connector with seeded faults: calls that fail before or after reaching the backend, duplicated
 * calls, random delays (and so reordering), dropped push notifications. `faults.enabled = false` stops them.
 */
export class FaultyConnector implements Connector {
  readonly name: string
  enabled = true
  readonly #inner: Connector
  readonly #random: () => number
  readonly #options: Required<FaultOptions>

  constructor(inner: Connector, seed: number, options: FaultOptions = {}) {
    this.#inner = inner
    this.name = `faulty-${inner.name}`
    this.#random = seededRandom(seed)
    this.#options = {
      failure: options.failure ?? 0.3,
      duplicate: options.duplicate ?? 0.1,
      maxDelay: options.maxDelay ?? 5,
      dropPush: options.dropPush ?? 0.3,
    }
  }

  async #call<T>(op: () => Promise<T>): Promise<T> {
    if (!this.enabled) return op()
    const roll = this.#random()
    const delay = this.#random() * this.#options.maxDelay
    if (delay >= 1) await new Promise((resolve) => setTimeout(resolve, delay))
    if (roll < this.#options.failure / 2) throw new InjectedFault('injected fault before the call')
    const result = await op()
    if (this.#random() < this.#options.duplicate) await op()
    if (roll < this.#options.failure) throw new InjectedFault('injected fault after the call (reply lost)')
    return result
  }

  upload(db: string, cid: string, bytes: Uint8Array): Promise<void> {
    return this.#call(() => this.#inner.upload(db, cid, bytes))
  }

  download(db: string, cid: string): Promise<Uint8Array | undefined> {
    return this.#call(() => this.#inner.download(db, cid))
  }

  save(db: string, branch: string, entry: MetaEntry, replaces: readonly string[]): Promise<void> {
    return this.#call(() => this.#inner.save(db, branch, entry, replaces))
  }

  load(db: string, branch: string): Promise<MetaEntry[]> {
    return this.#call(() => this.#inner.load(db, branch))
  }

  get subscribe(): Connector['subscribe'] {
    const inner = this.#inner.subscribe?.bind(this.#inner)
    if (!inner) return undefined
    return (db, branch, onEntries) =>
      inner(db, branch, (entries) => {
        if (this.enabled && this.#random() < this.#options.dropPush) return
        onEntries(entries)
      })
  }

  async close(): Promise<void> {
    await this.#inner.close?.()
  }
}
