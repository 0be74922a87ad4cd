import type { ChangeRow } from './api.js'
import { describe } from '../values/validate.js'

/** Who hears of changes of the local head: head listeners (sync) on every change, subscribers with the rows. */
export class ChangeFeed {
  readonly #name: string
  readonly #listeners = new Set<(changed: ChangeRow[]) => void>()
  readonly #headListeners = new Set<() => void>()

  constructor(name: string) {
    this.#name = name
  }

  subscribe(listener: (changed: ChangeRow[]) => void): () => void {
    if (typeof listener !== 'function') {
      throw new TypeError(`subscribe() expects a function, got ${describe(listener)}`)
    }
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Called after every change of the local head (commit, merge, adoption of a remote head, compaction). */
  onHead(listener: () => void): () => void {
    this.#headListeners.add(listener)
    return () => this.#headListeners.delete(listener)
  }

  /** Whether anyone wants changed rows: listing them reads two trees, which a lazy device otherwise avoids. */
  get hasSubscribers(): boolean {
    return this.#listeners.size > 0
  }

  headChanged(): void {
    for (const listener of this.#headListeners) listener()
  }

  emit(rows: ChangeRow[]): void {
    this.headChanged()
    if (rows.length === 0) return
    for (const listener of this.#listeners) {
      try {
        listener(rows)
      } catch (error) {
        console.error(`subscribe() listener of database ${JSON.stringify(this.#name)} threw:`, error)
      }
    }
  }
}
