import { FormatVersionError } from '../errors.js'
import { decodeOutboxRecord, encodeOutboxRecord } from '../format/outbox-record.js'
import type { Storage } from '../storage/api.js'

/**
 * What one backend holds, as far as this device knows. Two levels, because a push can fail halfway:
 * - `held`: the file's own upload succeeded (or the file was downloaded from this backend);
 * - `complete`: the file AND every file it references transitively are held. A push walks file headers from
 *   the head and stops only at complete files, so a file uploaded before its references never hides them.
 * A file becomes complete only when the push that walked it finished every upload of the walk.
 *
 * Kept on disk so a restart does not walk and upload everything again (layout and versions:
 * format/outbox-record.ts). A version 1 record, written before the two levels existed, when a failed push
 * could record files whose references never arrived, is read as held-only, so the first push re-walks and
 * repairs.
 */
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

  /** One held file (the longest held), or undefined: a canary whose absence says the backend lost files. */
  anyHeld(): string | undefined {
    for (const file of this.#held) return file
    return undefined
  }

  encode(): Uint8Array {
    return encodeOutboxRecord({
      complete: [...this.#complete],
      held: [...this.#held].filter((file) => !this.#complete.has(file)),
    })
  }

  static decode(bytes: Uint8Array, recordName: string): Outbox {
    const outbox = new Outbox()
    let record
    try {
      record = decodeOutboxRecord(bytes, `Sync record ${JSON.stringify(recordName)}`)
    } catch (error) {
      // Only an optimisation is lost: the next push walks everything again. A record written by a newer
      // version is not misread either: starting from nothing is correct, only slower.
      if (error instanceof FormatVersionError) {
        console.warn(`Sync record ${JSON.stringify(recordName)} has version ${error.version}; this version reads up to ${error.supported}`)
      } else {
        console.warn(`Ignoring unreadable sync record ${JSON.stringify(recordName)}: ${(error as Error).message}`)
      }
      return outbox
    }
    for (const file of record.complete) outbox.markComplete(file)
    for (const file of record.held) outbox.markHeld(file)
    return outbox
  }

  static async load(storage: Storage, recordName: string): Promise<Outbox> {
    const bytes = await storage.readRecord(recordName)
    return bytes ? Outbox.decode(bytes, recordName) : new Outbox()
  }
}
