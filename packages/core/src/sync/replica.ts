import type { BlockStore } from '../blockstore/store.js'
import type { HeadState } from '../format/head.js'
import type { Storage } from '../storage/api.js'

/**
 * The port sync needs from an open database: its blocks, where it stands, and a way to merge a remote. The
 * database implements it; sync depends on this declaration only.
 */
export interface Replica {
  readonly name: string
  readonly branch: string
  /**
   * Sync reads and uploads files, adds itself as a source of missing blocks, seals with the key, and loads the
   * head files of remote entries it merges (see SyncEngine's #loadHeadFiles).
   */
  readonly store: Pick<BlockStore, 'key' | 'addSource' | 'fileBytes' | 'fileReferences' | 'onFileRead' | 'locate' | 'loadFile'>
  readonly storage: Storage
  head(): HeadState | undefined
  /** Merges a remote head into the local one (one new file when the two diverged). */
  merge(remote: HeadState): Promise<void>
  /** Resolves once queued writes are committed. */
  idle(): Promise<void>
  /** Called after every change of the local head (commit, merge, adoption of a remote head). */
  onHead(listener: () => void): () => void
  onClose(listener: () => Promise<void>): void
  /**
   * Registers a predicate that compaction asks before deleting a local file: while it returns true for a file
   * (the sync's backend does not hold it, with everything it references, yet), the file is kept, and a
   * compaction's files keep naming it so that the next push uploads it. Returns the unregister function.
   */
  retainFiles(retains: (file: string) => boolean): () => void
}
