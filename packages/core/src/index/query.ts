import type { MapFn, QueryOptions, QueryRow } from './api.js'
import type { StoredDoc } from '../values/doc.js'
import { checkOptions, describe, isWellFormed, normalizeValue } from '../values/validate.js'
import { collate } from './collate.js'

export type Mapper = (doc: StoredDoc) => [unknown, unknown][]

/**
 * Turns a field name or map function into emitted [key, value] pairs for one document. A map function
 * either calls `emit(key, value?)` (any number of times) or, as in Fireproof, returns the key: a returned
 * value other than undefined is one row with that key when nothing was emitted. Emitted keys and values
 * follow the rules of stored values (undefined fields dropped, a Date as its ISO string).
 */
export function mapper(field: string | MapFn): Mapper {
  if (typeof field === 'string') {
    if (!field) throw new TypeError('query(): the field name must not be empty')
    const path = field.split('.')
    return (doc) => {
      let value: unknown = doc
      for (const part of path) {
        // Own fields only: every document inherits `constructor`, `toString` or `__proto__`, none holds them.
        if (value === null || typeof value !== 'object' || !Object.prototype.hasOwnProperty.call(value, part)) return []
        value = (value as Record<string, unknown>)[part]
      }
      return value === undefined ? [] : [[value, undefined]]
    }
  }
  if (typeof field !== 'function') {
    throw new TypeError(`query() expects a field name or a map function, got ${describe(field)}`)
  }
  return (doc) => {
    const out: [unknown, unknown][] = []
    const of = `document ${JSON.stringify(doc._id)}`
    const returned = field(doc, (key, value) => {
      out.push([
        normalizeValue(key, 'query()', `the key the map function emitted for ${of}`),
        value === undefined ? undefined : normalizeValue(value, 'query()', `the value the map function emitted for ${of}`),
      ])
    })
    if (returned !== null && typeof returned === 'object' && typeof (returned as { then?: unknown }).then === 'function') {
      throw new TypeError('query(): the map function returned a Promise; map functions must be synchronous')
    }
    if (out.length === 0 && returned !== undefined) {
      out.push([normalizeValue(returned, 'query()', `the key the map function returned for ${of}`), undefined])
    }
    return out
  }
}

/**
 * Where a query's index lives. A field name and a named map function (`{ index: name }`) are persisted under
 * that name; an unnamed map function is indexed in memory for that very function object, because two
 * closures with the same source text (`only('red')`, `only('blue')`) are different functions.
 */
export type IndexIdentity =
  | { kind: 'persisted'; name: string; source?: string }
  | { kind: 'memory'; fn: MapFn }

export function indexIdentity(field: string | MapFn, options: QueryOptions): IndexIdentity {
  if (typeof field === 'string') {
    if (options.index !== undefined) {
      throw new TypeError(`query(): the index option names a map function's index; the field ${JSON.stringify(field)} names its own`)
    }
    return { kind: 'persisted', name: `field:${field}` }
  }
  if (options.index === undefined) return { kind: 'memory', fn: field }
  return { kind: 'persisted', name: `named:${options.index}`, source: field.toString() }
}

export function checkIndexName(name: unknown, where: string): string {
  if (typeof name !== 'string' || name.length === 0 || !isWellFormed(name)) {
    throw new TypeError(`${where}: an index name must be a non-empty string, got ${describe(name)}`)
  }
  return name
}

export function compareRows(a: QueryRow, b: QueryRow): number {
  return collate(a.key, b.key) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

export function rowMatches(key: unknown, options: QueryOptions): boolean {
  if ('key' in options && options.key !== undefined && collate(key, options.key) !== 0) return false
  if (options.keys && !options.keys.some((k) => collate(key, k) === 0)) return false
  if (options.range) {
    const [lo, hi] = options.range
    if (collate(key, lo) < 0 || collate(key, hi) > 0) return false
  }
  if (options.prefix !== undefined) {
    const prefix = options.prefix
    if (typeof prefix === 'string') {
      if (typeof key !== 'string' || !key.startsWith(prefix)) return false
    } else if (Array.isArray(prefix)) {
      if (!Array.isArray(key) || prefix.some((p, i) => collate(key[i], p) !== 0)) return false
    } else if (collate(key, prefix) !== 0) return false
  }
  return true
}

const QUERY_OPTIONS = ['key', 'keys', 'range', 'prefix', 'limit', 'descending', 'includeDocs', 'index'] as const

/**
 * Checks a query's options and returns them with `key`, `keys`, `range` and `prefix` as stored keys are (see
 * normalizeValue): a `Date` finds the rows of that date, an object's keys are in stored order, and a value
 * no key can be (NaN, a bigint, a function) is a TypeError instead of a query that silently finds nothing.
 */
export function checkQueryOptions(given: unknown): QueryOptions {
  const options = { ...checkOptions(given, 'query()', QUERY_OPTIONS) } as QueryOptions
  const asKey = (value: unknown, what: string) => normalizeValue(value, 'query()', what)
  if (options.key !== undefined) options.key = asKey(options.key, 'the key option')
  if (options.keys !== undefined) {
    if (!Array.isArray(options.keys)) throw new TypeError(`query(): keys must be an array, got ${describe(options.keys)}`)
    options.keys = options.keys.map((key, i) => asKey(key, `keys[${i}]`))
  }
  if (options.range !== undefined) {
    if (!Array.isArray(options.range) || options.range.length !== 2) {
      throw new TypeError(`query(): range must be [low, high], got ${describe(options.range)}`)
    }
    const range: [unknown, unknown] = [asKey(options.range[0], 'range[0]'), asKey(options.range[1], 'range[1]')]
    if (collate(range[0], range[1]) > 0) {
      throw new TypeError(`query(): range [${JSON.stringify(range[0])}, ${JSON.stringify(range[1])}] matches nothing: its low end sorts after its high end (descending: true orders the rows; range stays [low, high])`)
    }
    options.range = range
  }
  if (options.prefix !== undefined) options.prefix = asKey(options.prefix, 'the prefix option')
  if (options.index !== undefined) checkIndexName(options.index, 'query()')
  return options
}
