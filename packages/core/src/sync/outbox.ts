import * as dagCbor from '@ipld/dag-cbor'
import type { Storage } from '../storage/api.js'

/**
 * What one backend holds, as far as this device knows. Two levels, because a push can fail halfway:
 * - `held`: the file's own upload succeeded (or the file was downloaded from this backend);
 * - `complete`: the file AND every file it references transitively are held. A push walks file headers from
 *   the head and stops only at complete files, so a file uploaded before its references never hides them.
 * A file becomes complete only when the push that walked it finished every upload of the walk.
 *
 * Kept on disk so a restart does not walk and upload everything again. Version 2 records both sets; a
 * version 1 record (`{ uploaded }`, written before the two levels existed, when a failed push could record
 * files whose references never arrived) is read as held-only, so the first push re-walks and repairs.
 */
export const OUTBOX_RECORD_VERSION = 2

interface OutboxRecordV1 {
  uploaded: string[]
}

interface OutboxRecordV2 {
  v: 2
  complete: string[]
  /** Held but not complete. */
  held: string[]
}

export class Outbox {
  readonly #held = new Set<string>()
  readonly #complete = new Set<string>()

  isHeld(file: string): boolean {
    return this.#held.has(file)
  }

  isComplete(file: string): boolean {
    return this.#complete.has(file)
  }

  markHeld(file: string): void {
    this.#held.add(file)
  }

  /** Only for files already held whose whole reference closure is held too. */
  markComplete(file: string): void {
    this.#held.add(file)
    this.#complete.add(file)
  }

  /**
   * The backend lost these files: forget them, and forget every completeness claim, since any complete file
   * may reference one of them. The next push walks the whole closure again and uploads what is missing.
   */
  forget(files: Iterable<string>): void {
    for (const file of files) this.#held.delete(file)
    this.#complete.clear()
  }

  heldFiles(): string[] {
    return [...this.#held]
  }

  encode(): Uint8Array {
    const record: OutboxRecordV2 = {
      v: OUTBOX_RECORD_VERSION,
      complete: [...this.#complete],
      held: [...this.#held].filter((file) => !this.#complete.has(file)),
    }
    return dagCbor.encode(record)
  }

  static decode(bytes: Uint8Array, recordName: string): Outbox {
    const outbox = new Outbox()
    let value: unknown
    try {
      value = dagCbor.decode(bytes)
    } catch (error) {
      // Only an optimisation is lost: the next push walks everything again.
      console.warn(`Ignoring unreadable sync record ${JSON.stringify(recordName)}: ${(error as Error).message}`)
      return outbox
    }
    const record = value as Partial<OutboxRecordV2 & OutboxRecordV1> | null
    if (record && record.v === OUTBOX_RECORD_VERSION && Array.isArray(record.complete) && Array.isArray(record.held)) {
      for (const file of record.complete) outbox.markComplete(String(file))
      for (const file of record.held) outbox.markHeld(String(file))
    } else if (record && record.v === undefined && Array.isArray(record.uploaded)) {
      for (const file of record.uploaded) outbox.markHeld(String(file))
    } else if (record && typeof record.v === 'number' && record.v > OUTBOX_RECORD_VERSION) {
      // Written by a newer version: start from nothing rather than misread it (correct, only slower).
      console.warn(`Sync record ${JSON.stringify(recordName)} has version ${record.v}; this version reads up to ${OUTBOX_RECORD_VERSION}`)
    }
    return outbox
  }

  static async load(storage: Storage, recordName: string): Promise<Outbox> {
    const bytes = await storage.readRecord(recordName)
    return bytes ? Outbox.decode(bytes, recordName) : new Outbox()
  }
}
