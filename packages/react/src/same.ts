/**
 * Structural equality of the JSON-like values documents and query rows hold (plain objects, arrays,
 * `Uint8Array`, `Date`, primitives; any other object only equals itself): lets a hook keep its previous result
 * object, and so not re-render, when a re-run answered the same thing.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && a.length === b.length && a.every((byte, i) => byte === b[i])
  }
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && Object.is(a.getTime(), b.getTime())
  // Any other instance (a File, a Blob, a Map) keeps what it holds out of its own keys: two of them with no keys
  // would compare equal whatever they hold, so only the same object is the same.
  if (!isPlain(a) || !isPlain(b)) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  return keys.every((key) => Object.hasOwn(b, key) && sameValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
}

function isPlain(value: object): boolean {
  const prototype = Object.getPrototypeOf(value) as unknown
  return prototype === Object.prototype || prototype === null || Array.isArray(value)
}
