import type { CID } from '../blockstore/block.js'
import type { BlockStore } from '../blockstore/store.js'
import { CompactionNeeds } from './compaction-needs.js'

/**
 * The local files this instance's compactions chose to delete (in the swap), are deleting, or deleted. The
 * block store still serves what it read of them from memory (the files it loaded, the blocks it caches), so a
 * state made after a swap can come to need one without reading local storage again: a remote head whose files
 * a sync downloaded before the snapshot and merges after the swap (a merge that failed halfway, entries whose
 * files load side by side), a remote tree sharing nodes with an older local one. Before a head record names
 * such a state (`keepFor`, from LocalHead), each of these files it needs is kept (not deleted yet) or stored
 * again (from a connected source: without one the merge fails and nothing names the state).
 */
export class DeletedFiles {
  readonly #chosen = new Set<string>()
  readonly #deleting = new Map<string, Promise<void>>()
  readonly #gone = new Set<string>()
  /** Walks states made after the last swap for the files above they need (each block once). */
  #needs: CompactionNeeds | undefined

  #has(file: string): boolean {
    return this.#chosen.has(file) || this.#deleting.has(file) || this.#gone.has(file)
  }

  /**
   * In the swap: `files` are to be deleted; `written` are the compaction's files. A block one of those holds is
   * not walked (the compaction's own blocks: tested by location, not kept as a set of every block for as long
   * as the instance is open).
   */
  chose(store: BlockStore, files: readonly string[], written: readonly string[]): void {
    for (const file of files) this.#chosen.add(file)
    const compaction = new Set(written)
    const compacted = { has: (cid: string) => store.locationsOf(cid).some((file) => compaction.has(file)) }
    this.#needs = new CompactionNeeds(store, compacted, (file) => this.#has(file))
    this.#needs.onlyHeld = true
  }

  /**
   * Deletes `files` (chosen in the swap) with `remove`, which answers undefined for a file it leaves, except
   * those a state made since needs.
   */
  async delete(files: readonly string[], remove: (file: string) => Promise<void> | undefined): Promise<void> {
    const deletions: Promise<void>[] = []
    for (const file of files) {
      if (!this.#chosen.delete(file)) continue
      const removing = remove(file)
      if (!removing) continue
      const deletion = removing.then(
        () => {
          this.#gone.add(file)
          this.#deleting.delete(file)
        },
        (error) => {
          this.#deleting.delete(file)
          throw error
        },
      )
      this.#deleting.set(file, deletion)
      deletions.push(deletion)
    }
    await Promise.all(deletions)
  }

  /**
   * In the write queue, before a head record names the state at `heads` (tree `root` when known, attachment
   * `manifests` a write names) in place of the local head (`local`, whose state needs nothing more): keeps or
   * stores again the deleted files it needs. O(what no earlier call walked).
   */
  async keepFor(store: BlockStore, heads: readonly CID[], root: CID | undefined, local: readonly CID[], manifests: readonly CID[] = []): Promise<void> {
    const needs = this.#needs
    if (!needs) return
    await needs.reaches(heads, root, local, manifests)
    for (const file of [...needs.files]) {
      if (!this.#chosen.delete(file)) {
        await this.#deleting.get(file)?.catch(() => {})
        if (this.#gone.has(file)) {
          // Read from a connected source and stored locally again (local storage no longer has it).
          await store.fileBytes(file)
          this.#gone.delete(file)
        }
      }
      needs.files.delete(file)
    }
  }
}
