import { equals } from 'multiformats/bytes'
import type { DatabaseKey } from './key.js'

/**
 * The keys of a database, one per key epoch: epoch 0 is the first key, each rotation adds one. The newest
 * (current) key seals everything written from now on; the earlier ones only open what they sealed (history).
 * A KeyRing is a DatabaseKey (its current key), so code that only seals, or exports the key, needs nothing
 * else. Envelopes name the key that sealed them by id (crypto/envelope.ts picks it here).
 */
export class KeyRing implements DatabaseKey {
  #keys: DatabaseKey[]
  #epochFile: string | undefined
  #learn: ((file: string) => Promise<void>) | undefined
  #noted: string | undefined

  /** `keys` oldest first; `epochFile` is the key-epoch file carrying the earlier keys (absent at epoch 0). */
  constructor(keys: DatabaseKey[], epochFile?: string) {
    if (keys.length === 0) throw new RangeError('a key ring holds at least one key')
    this.#keys = keys
    this.#epochFile = epochFile
  }

  get current(): DatabaseKey {
    return this.#keys[this.#keys.length - 1]!
  }

  get raw(): Uint8Array {
    return this.current.raw
  }

  get id(): Uint8Array {
    return this.current.id
  }

  cryptoKey(): Promise<CryptoKey> {
    return this.current.cryptoKey()
  }

  /** The current key's epoch: how many keys it replaced. */
  get epoch(): number {
    return this.#keys.length - 1
  }

  /** Every key, oldest first. */
  get keys(): readonly DatabaseKey[] {
    return this.#keys
  }

  /** The key-epoch file carrying the earlier keys, sealed by the current key; undefined at epoch 0. */
  get epochFile(): string | undefined {
    return this.#epochFile
  }

  /** The ids of the keys before the current one, oldest first. */
  earlierIds(): Uint8Array[] {
    return this.#keys.slice(0, -1).map((key) => key.id)
  }

  /** The key with this id and its epoch, if this ring holds it. */
  find(id: Uint8Array): { key: DatabaseKey; epoch: number } | undefined {
    const epoch = this.#keys.findIndex((key) => equals(key.id, id))
    return epoch < 0 ? undefined : { key: this.#keys[epoch]!, epoch }
  }

  /** After a rotation, or when this device learned the earlier keys of its current key. */
  replace(keys: DatabaseKey[], epochFile: string): void {
    this.#keys = keys
    this.#epochFile = epochFile
  }

  /** Set by the open database: how to fetch, check and keep the earlier keys a key-epoch file carries. */
  onLearn(learn: (file: string) => Promise<void>): void {
    this.#learn = learn
  }

  /**
   * A meta entry sealed by the current key names the key-epoch file that carries the earlier keys: a device
   * given only the current key (a share link made after a rotation) notes it here, and learns the keys when
   * it first meets a file sealed by one of them (learnNoted), so a failed download only fails that read.
   */
  note(file: string): void {
    if (file !== this.#epochFile) this.#noted = file
  }

  /** The noted key-epoch file when its keys are not learned yet (a meta entry still names it). */
  get notedEpochFile(): string | undefined {
    return this.#noted
  }

  /** Learns the keys of the noted key-epoch file; true when the ring gained keys. */
  async learnNoted(): Promise<boolean> {
    const file = this.#noted
    if (!file || !this.#learn) return false
    const before = this.#keys.length
    await this.#learn(file)
    if (this.#noted === file) this.#noted = undefined
    return this.#keys.length > before
  }
}
