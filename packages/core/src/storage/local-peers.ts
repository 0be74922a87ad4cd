/**
 * Record-change announcements between storage instances over the same data in one process (two
 * `database()` calls with the same name and dir), the in-process counterpart of IndexedDB's
 * BroadcastChannel: each instance hears the records the OTHER instances replaced or deleted.
 */
export interface Announcer {
  announce(record: string): void
  watch(listener: (record: string) => void): () => void
  close(): void
}

const peersByLocation = new Map<string, Set<Set<(record: string) => void>>>()

export function announcer(location: string): Announcer {
  const own = new Set<(record: string) => void>()
  let peers = peersByLocation.get(location)
  if (!peers) peersByLocation.set(location, (peers = new Set()))
  peers.add(own)
  return {
    announce(record) {
      for (const listeners of peers) {
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
    close() {
      own.clear()
      peers.delete(own)
      if (peers.size === 0) peersByLocation.delete(location)
    },
  }
}
