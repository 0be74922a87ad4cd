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

/** One call through a FaultyConnector, as a fault plan sees it. */
export interface FaultCall {
  op: 'upload' | 'download' | 'save' | 'load' | 'has'
  /** 0-based count of earlier calls of this op through this connector. */
  index: number
  /** The file or entry CID, when the call names one. */
  cid?: string
}

/**
 * Where a planned call fails: `'before'` never reaches the backend; `'after'` is performed, then its reply is
 * lost (the caller sees a failure although the write happened); `'none'` passes.
 */
export type Fault = 'before' | 'after' | 'none'

export interface FaultOptions {
  /** Probability that a call fails (half before reaching the backend, half after: a lost reply). */
  failure?: number
  /** Probability that a call is performed twice (a retried request). */
  duplicate?: number
  /** Upper bound of a random delay per call, in ms (random delays also reorder concurrent calls). */
  maxDelay?: number
  /** Probability that a pushed meta notification is dropped. */
  dropPush?: number
  /**
   * Decides the fault of chosen calls (one upload of many, the save after successful uploads, a download
   * during a lazy load…); calls for which it returns undefined get the random faults above.
   */
  plan?: (call: FaultCall) => Fault | undefined
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
  readonly id: string | undefined
  enabled = true
  readonly #inner: Connector
  readonly #random: () => number
  readonly #options: Required<Omit<FaultOptions, 'plan'>>
  readonly #plan: FaultOptions['plan']
  readonly #counts = new Map<FaultCall['op'], number>()
  /** Faults injected so far, by op. */
  readonly injected = new Map<FaultCall['op'], number>()

  constructor(inner: Connector, seed: number, options: FaultOptions = {}) {
    this.#inner = inner
    this.name = `faulty-${inner.name}`
    // The same backend instance: what sync remembers about it stays valid across restarts.
    this.id = inner.id
    this.#random = seededRandom(seed)
    this.#options = {
      failure: options.failure ?? 0.3,
      duplicate: options.duplicate ?? 0.1,
      maxDelay: options.maxDelay ?? 5,
      dropPush: options.dropPush ?? 0.3,
    }
    this.#plan = options.plan
  }

  async #call<T>(name: FaultCall['op'], cid: string | undefined, op: () => Promise<T>): Promise<T> {
    const index = this.#counts.get(name) ?? 0
    this.#counts.set(name, index + 1)
    if (!this.enabled) return op()
    const roll = this.#random()
    const delay = this.#random() * this.#options.maxDelay
    const duplicate = this.#random() < this.#options.duplicate
    const planned = this.#plan?.({ op: name, index, cid })
    const fault: Fault =
      planned ?? (roll < this.#options.failure / 2 ? 'before' : roll < this.#options.failure ? 'after' : 'none')
    if (delay >= 1) await new Promise((resolve) => setTimeout(resolve, delay))
    if (fault === 'before') {
      this.#count(name)
      throw new InjectedFault(`injected fault before ${name} #${index}`)
    }
    const result = await op()
    if (duplicate) await op()
    if (fault === 'after') {
      this.#count(name)
      throw new InjectedFault(`injected fault after ${name} #${index} (reply lost)`)
    }
    return result
  }

  #count(name: FaultCall['op']): void {
    this.injected.set(name, (this.injected.get(name) ?? 0) + 1)
  }

  upload(db: string, cid: string, bytes: Uint8Array): Promise<void> {
    return this.#call('upload', cid, () => this.#inner.upload(db, cid, bytes))
  }

  download(db: string, cid: string): Promise<Uint8Array | undefined> {
    return this.#call('download', cid, () => this.#inner.download(db, cid))
  }

  get has(): Connector['has'] {
    const inner = this.#inner.has?.bind(this.#inner)
    if (!inner) return undefined
    return (db, cid) => this.#call('has', cid, () => inner(db, cid))
  }

  save(db: string, branch: string, entry: MetaEntry, replaces: readonly string[]): Promise<void> {
    return this.#call('save', entry.cid, () => this.#inner.save(db, branch, entry, replaces))
  }

  load(db: string, branch: string): Promise<MetaEntry[]> {
    return this.#call('load', undefined, () => this.#inner.load(db, branch))
  }

  get subscribe(): Connector['subscribe'] {
    const inner = this.#inner.subscribe?.bind(this.#inner)
    if (!inner) return undefined
    return (db, branch, onEntries) =>
      inner(db, branch, (entries, replaced) => {
        if (this.enabled && this.#random() < this.#options.dropPush) return
        onEntries(entries, replaced)
      })
  }

  async close(): Promise<void> {
    await this.#inner.close?.()
  }
}
