import type { Body } from '../crdt/entry.js'

/** Names a value for an error message without dumping it. */
export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'no prototype'})`
  return typeof value
}

export function checkId(id: unknown, where: string): string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new TypeError(`${where}: _id must be a non-empty string, got ${describe(id)}`)
  }
  return id
}

export function checkName(name: unknown): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name)) {
    throw new TypeError(
      `database(): name must be 1-128 letters, digits, '.', '_' or '-' (not starting with a symbol), got ${describe(name)}`,
    )
  }
  return name
}

/** Splits a document into its id and the stored body, checking that every value can be stored. */
export function checkDoc(doc: unknown, where: string): { id: string | undefined; body: Exclude<Body, null> } {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || !isPlainObject(doc)) {
    throw new TypeError(`${where} expects a document object, got ${describe(doc)}`)
  }
  const { _id, ...body } = doc as Record<string, unknown>
  const id = _id === undefined ? undefined : checkId(_id, where)
  checkValue(body, '', id, where)
  return { id, body }
}

function checkValue(value: unknown, path: string, id: string | undefined, where: string): void {
  const fail = (what: string) => {
    const doc = id === undefined ? 'document' : `document ${JSON.stringify(id)}`
    throw new TypeError(`${where}: ${doc} field ${JSON.stringify(path)} is ${what}, which cannot be stored`)
  }
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return
    case 'number':
      if (!Number.isFinite(value)) fail(String(value))
      return
    case 'object':
      if (value === null || value instanceof Uint8Array) return
      if (Array.isArray(value)) {
        value.forEach((item, i) => checkValue(item, `${path}[${i}]`, id, where))
        return
      }
      if (!isPlainObject(value)) fail(describe(value))
      for (const [key, item] of Object.entries(value)) checkValue(item, path ? `${path}.${key}` : key, id, where)
      return
    default:
      fail(describe(value))
  }
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}
