/**
 * Storage instances over the same data in one process (two `database()` calls with the same name and dir):
 * the in-process counterpart of what tabs get from BroadcastChannel and Web Locks. Each instance hears the
 * records the OTHER instances replaced or deleted, and one instance can run a task while it is the only one
 * open, during which instances opened meanwhile wait before their first operation.
 */
export interface LocalPeers {
  announce(record: string): void
  watch(listener: (record: string) => void): () => void
  /** See Storage.whileAlone. */
  whileAlone(task: () => Promise<void>): Promise<boolean>
  /** Resolves when no other instance runs a `whileAlone` task; every storage operation awaits it first. */
  ready(): Promise<void> | undefined
  close(): void
}

interface Location {
  peers: Set<Set<(record: string) => void>>
  /** The running whileAlone task, if any, and the instance running it. */
  busy: Promise<void> | undefined
  owner: Set<(record: string) => void> | undefined
}

const locations = new Map<string, Location>()

export function localPeers(location: string): LocalPeers {
  const own = new Set<(record: string) => void>()
  let shared = locations.get(location)
  if (!shared) locations.set(location, (shared = { peers: new Set(), busy: undefined, owner: undefined }))
  const here = shared
  here.peers.add(own)
  return {
    announce(record) {
      for (const listeners of here.peers) {
        if (listeners === own) continue
        // Delivered later, as a BroadcastChannel message is: the writer finishes its own step first.
        for (const listener of listeners) {
          queueMicrotask(() => {
            if (!listeners.has(listener)) return
            try {
              listener(record)
            } catch (error) {
              console.error(`storage ${JSON.stringify(location)}: a watch() listener threw:`, error)
            }
          })
        }
      }
    },
    watch(listener) {
      if (typeof listener !== 'function') throw new TypeError(`watch() expects a function, got ${typeof listener}`)
      own.add(listener)
      return () => own.delete(listener)
    },
    async whileAlone(task) {
      if (here.peers.size > 1 || here.busy) return false
      here.owner = own
      const running = task()
      here.busy = running.then(
        () => {},
        () => {},
      )
      try {
        await running
        return true
      } finally {
        here.busy = undefined
        here.owner = undefined
        if (here.peers.size === 0) locations.delete(location)
      }
    },
    ready: () => (here.owner === own ? undefined : here.busy),
    close() {
      own.clear()
      here.peers.delete(own)
      if (here.peers.size === 0 && !here.busy) locations.delete(location)
    },
  }
}
