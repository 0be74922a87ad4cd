import type { Connector, MetaEntry } from '@proj/core/connector'

/** Counts what crosses a connector, and can be switched "down" (every call fails like an unreachable host). */
export class MeteredConnector implements Connector {
  readonly name: string
  down = false
  downloadedBytes = 0
  downloads = 0
  readonly uploaded: Uint8Array[] = []
  readonly saved: Uint8Array[] = []
  /** Replaces downloaded file bytes (a tampering backend). */
  tamper: ((cid: string, bytes: Uint8Array) => Uint8Array) | undefined

  constructor(readonly inner: Connector) {
    this.name = inner.name
  }

  #check(): void {
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1 (backend down)')
  }

  async upload(db: string, cid: string, bytes: Uint8Array): Promise<void> {
    this.#check()
    this.uploaded.push(bytes)
    await this.inner.upload(db, cid, bytes)
  }

  async download(db: string, cid: string): Promise<Uint8Array | undefined> {
    this.#check()
    const bytes = await this.inner.download(db, cid)
    if (bytes) {
      this.downloads++
      this.downloadedBytes += bytes.length
    }
    return bytes && this.tamper ? this.tamper(cid, bytes) : bytes
  }

  async save(db: string, branch: string, entry: MetaEntry, replaces: readonly string[]): Promise<void> {
    this.#check()
    this.saved.push(entry.bytes)
    await this.inner.save(db, branch, entry, replaces)
  }

  async load(db: string, branch: string): Promise<MetaEntry[]> {
    this.#check()
    return this.inner.load(db, branch)
  }

  get subscribe(): Connector['subscribe'] {
    return this.inner.subscribe?.bind(this.inner)
  }

  async close(): Promise<void> {
    await this.inner.close?.()
  }
}

export function until(predicate: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  return new Promise((resolve, reject) => {
    const check = async () => {
      try {
        if (await predicate()) return resolve()
      } catch (error) {
        return reject(error)
      }
      if (Date.now() > deadline) return reject(new Error(`condition not met within ${timeoutMs} ms`))
      setTimeout(check, 10)
    }
    void check()
  })
}

let counter = 0
export const uniqueDir = (label: string) => `/mem/${label}-${process.pid}-${++counter}`
