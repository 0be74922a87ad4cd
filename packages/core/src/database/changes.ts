import type { ChangeRow } from './api.js'
import { ClosedError } from '../errors.js'
import { readCopy } from '../values/read-copy.js'
import { describe } from '../values/validate.js'

/** Who hears of changes of the local head: head listeners (sync) on every change, subscribers with the rows. */
export class ChangeFeed {
  readonly #name: string
  readonly #listeners = new Set<(changed: ChangeRow[]) => void>()
  readonly #headListeners = new Set<() => void>()
  #closed = false

  constructor(name: string) {
    this.#name = name
  }

  /** Throws ClosedError once the database closed: a listener added then would never hear anything. */
  subscribe(listener: (changed: ChangeRow[]) => void): () => void {
    if (this.#closed) throw new ClosedError(this.#name)
    if (typeof listener !== 'function') {
      throw new TypeError(`subscribe() expects a function, got ${describe(listener)}`)
    }
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** For the database's close(): later subscribe() calls throw, and no listener is kept alive. */
  close(): void {
    this.#closed = true
    this.#listeners.clear()
    this.#headListeners.clear()
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

  /**
   * Each listener gets rows of its own (an app's listener sorting `doc.tags` must not change what the next
   * one sees): copies for all but the last, which gets `rows`, untouched until then.
   */
  emit(rows: ChangeRow[]): void {
    this.headChanged()
    if (rows.length === 0) return
    if (this.#listeners.size === 1) {
      for (const listener of this.#listeners) this.#call(listener, rows)
      return
    }
    const listeners = [...this.#listeners]
    listeners.forEach((listener, i) => this.#call(listener, i === listeners.length - 1 ? rows : copyRows(rows)))
  }

  #call(listener: (changed: ChangeRow[]) => void, rows: ChangeRow[]): void {
    try {
      listener(rows)
    } catch (error) {
      console.error(`subscribe() listener of database ${JSON.stringify(this.#name)} threw:`, error)
    }
  }
}

/** A deep copy of changed rows; attachments keep their (not enumerable) `file()` and `stream()`. */
function copyRows(rows: ChangeRow[]): ChangeRow[] {
  return rows.map((row) => {
    const value = readCopy(row.value)
    const from = row.value._files
    const to = value._files
    if (from && to && typeof from === 'object' && typeof to === 'object') {
      for (const name of Object.keys(from)) {
        const source = (from as Record<string, unknown>)[name]
        const target = (to as Record<string, unknown>)[name]
        if (!source || !target || typeof source !== 'object' || typeof target !== 'object') continue
        for (const method of ['file', 'stream']) {
          const descriptor = Object.getOwnPropertyDescriptor(source, method)
          if (descriptor) Object.defineProperty(target, method, descriptor)
        }
      }
    }
    return row.deleted ? { key: row.key, value, deleted: true } : { key: row.key, value }
  })
}
