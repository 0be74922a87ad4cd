import type { Body } from '../crdt/entry.js'
import { checkFiles } from '../attachments/input.js'
import { checkName as checkNameRule, describe } from '../kit/names.js'
import { isWellFormed, loneSurrogate } from '../format/well-formed.js'
import { sortMapKeys } from '../format/map-key-order.js'

/**
 * The deepest nesting of objects and arrays a stored value may have. Deeper values are refused with a
 * TypeError instead of overflowing the stack of the encoder (or of a reader decoding it later).
 */
export const MAX_DEPTH = 256

export { describe, isWellFormed }

export function checkId(id: unknown, where: string): string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new TypeError(`${where}: _id must be a non-empty string, got ${describe(id)}`)
  }
  if (!isWellFormed(id)) {
    throw new TypeError(`${where}: _id ${JSON.stringify(id)} is ${loneSurrogate(id)}, which UTF-8 cannot encode`)
  }
  return id
}

export function checkName(name: unknown): string {
  return checkNameRule(name, 'database(): name')
}

/**
 * Splits a document into its id and the body to store (null: `_deleted: true`, a deletion), as a copy that
 * later changes to the caller's object cannot reach. Values follow JSON where dag-cbor cannot: undefined
 * fields are left out (undefined array items become null), a Date becomes its ISO string. Anything else that
 * would not read back as written is a TypeError naming the field: NaN and ±Infinity, lone surrogates, holes
 * of sparse arrays, cycles, nesting deeper than MAX_DEPTH, functions, symbols, class instances. `_files` holds
 * attachments (attachments/input.ts): the body keeps them as pending until the write commits.
 */
export function checkDoc(doc: unknown, where: string): { id: string | undefined; body: Body } {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || !isPlainObject(doc)) {
    throw new TypeError(`${where} expects a document object, got ${describe(doc)}`)
  }
  const fields = doc as Record<string, unknown>
  const id = fields._id === undefined ? undefined : checkId(fields._id, where)
  const deleted = fields._deleted
  if (deleted !== undefined && typeof deleted !== 'boolean') {
    throw new TypeError(`${where}: _deleted must be true or false, got ${describe(deleted)}`)
  }
  if (deleted) {
    if (id === undefined) throw new TypeError(`${where}: a document with _deleted: true needs an _id`)
    return { id, body: null }
  }
  // The subject is spelled out only for an error message.
  const subject = () => (id === undefined ? 'document' : `document ${JSON.stringify(id)}`)
  const body = new Normalizer(where, (path) => `${subject()} field ${JSON.stringify(path)}`).object(fields, true)
  return { id, body }
}

/** The same rules for a key or value a map function emits (`what` names it in errors). */
export function normalizeValue(value: unknown, where: string, what: string): unknown {
  return new Normalizer(where, (path) => (path ? `${what} at ${JSON.stringify(path)}` : what)).value(value)
}

/** One pass over a value: checks it and builds the copy to store. The path is only assembled for an error. */
class Normalizer {
  readonly #path: (string | number)[] = []
  readonly #parents: object[] = []

  constructor(
    readonly where: string,
    readonly subject: (path: string) => string,
  ) {}

  value(value: unknown): unknown {
    switch (typeof value) {
      case 'string':
        if (!isWellFormed(value)) this.#fail(loneSurrogate(value))
        return value
      case 'boolean':
      case 'undefined':
        return value
      case 'number':
        if (!Number.isFinite(value)) this.#fail(String(value))
        // dag-cbor stores -0 as the integer 0 (as JSON writes it): the value kept is what a read of the file gives.
        return value === 0 ? 0 : value
      case 'object': {
        if (value === null) return null
        if (value instanceof Uint8Array) return new Uint8Array(value)
        if (value instanceof Date) {
          if (Number.isNaN(value.getTime())) this.#fail('an invalid Date')
          return value.toISOString()
        }
        if (this.#parents.length >= MAX_DEPTH) this.#tooDeep(value)
        if (Array.isArray(value)) return this.#array(value)
        if (!isPlainObject(value)) this.#fail(describe(value))
        return this.object(value as Record<string, unknown>, false)
      }
      default:
        return this.#fail(describe(value))
    }
  }

  /**
   * A copy without undefined fields, its keys in stored order (and, for a document, without `_id`, `_deleted`
   * and `_conflicts`: the losers a read with `{ conflicts: true }` added are what a write resolves, so a
   * document read that way and written back stores none of them; stored, every later read would show them as
   * unresolved conflicts).
   */
  object(value: Record<string, unknown>, isDoc: boolean): Record<string, unknown> {
    this.#parents.push(value)
    const out: Record<string, unknown> = {}
    // In the order a file stores them (see map-key-order.ts).
    const keys = sortMapKeys(Object.keys(value))
    // Indexed: unoptimized for-of allocates an iterator result per key, and a put runs this cold.
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k]!
      if (isDoc && (key === '_id' || key === '_deleted' || key === '_conflicts')) continue
      this.#path.push(key)
      if (!isWellFormed(key)) this.#fail(`named by ${loneSurrogate(key)}`)
      // A document's attachments are checked here and stored when the write commits (attachments/).
      const item = isDoc && key === '_files' && value[key] !== undefined ? checkFiles(value[key], this.where, this.subject) : this.value(value[key])
      this.#path.pop()
      if (item === undefined) continue
      // Assigning '__proto__' would set the prototype instead of adding the field.
      if (key === '__proto__') Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true })
      else out[key] = item
    }
    this.#parents.pop()
    return out
  }

  #array(value: unknown[]): unknown[] {
    this.#parents.push(value)
    const out: unknown[] = []
    for (let i = 0; i < value.length; i++) {
      const item = value[i]
      this.#path.push(i)
      if (item === undefined) {
        if (!(i in value)) this.#fail('a hole of a sparse array')
        out.push(null)
      } else {
        out.push(this.value(item))
      }
      this.#path.pop()
    }
    this.#parents.pop()
    return out
  }

  /** Past MAX_DEPTH: a cycle (named where it first closes) or a value nested too deep. */
  #tooDeep(value: object): never {
    const chain = [...this.#parents, value]
    const seen = new Set<object>()
    for (let i = 0; i < chain.length; i++) {
      if (seen.has(chain[i]!)) {
        this.#path.length = i
        this.#fail('a reference to an object that contains it (a cycle)')
      }
      seen.add(chain[i]!)
    }
    this.#fail(`nested deeper than ${MAX_DEPTH} levels`)
  }

  #fail(what: string): never {
    let path = ''
    for (const part of this.#path) path += typeof part === 'number' ? `[${part}]` : path ? `.${part}` : part
    throw new TypeError(`${this.where}: ${this.subject(path)} is ${what}, which cannot be stored`)
  }
}

const BOOLEAN_OPTIONS = new Set(['descending', 'includeDocs'])

/**
 * Checks an options object: every name is one of `known` (a misspelled or unsupported option is an error,
 * not silently ignored), `limit` is a non-negative integer and `descending`/`includeDocs` are booleans.
 */
export function checkOptions(options: unknown, where: string, known: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {}
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${where} options must be an object, got ${describe(options)}`)
  }
  const given = options as Record<string, unknown>
  for (const name of Object.keys(given)) {
    const value = given[name]
    if (!known.includes(name)) {
      throw new TypeError(`${where}: unknown option ${JSON.stringify(name)} (the options are ${known.join(', ')})`)
    }
    if (value === undefined) continue
    if (name === 'limit' && (typeof value !== 'number' || !Number.isInteger(value) || value < 0)) {
      throw new TypeError(`${where}: limit must be a non-negative integer, got ${describe(value)}`)
    }
    if (BOOLEAN_OPTIONS.has(name) && typeof value !== 'boolean') {
      throw new TypeError(`${where}: ${name} must be true or false, got ${describe(value)}`)
    }
  }
  return given
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}
