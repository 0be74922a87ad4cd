/**
 * An order-preserving string encoding of collatable keys: for any keys a, b
 * `sign(collate(a, b)) === sign(compare(encodeKey(a), encodeKey(b)))` under plain JS string order (UTF-16 code
 * units), which is the order of the index trees. Every encoding is prefix-free (self-delimiting), so an index
 * key is simply `encodeKey(key) + docId`: rows sort by key, then by id, and `decodeKey` finds where the id starts.
 *
 * Tags: A null/undefined, B false, C true, D number, E string, F array, G object. Numbers are the 16 hex digits
 * of their IEEE-754 bits (sign bit flipped for positives, all bits flipped for negatives, so they sort as
 * numbers). Strings escape \u0000 and \u0001 and end with \u0000; arrays and objects end with '!', which sorts
 * below every tag.
 */
const END = '!'

export function encodeKey(value: unknown): string {
  if (value === null || value === undefined) return 'A'
  switch (typeof value) {
    case 'boolean':
      return value ? 'C' : 'B'
    case 'number':
      return 'D' + encodeNumber(value)
    case 'string':
      return 'E' + escapeString(value) + '\u0000'
    case 'bigint':
      return 'D' + encodeNumber(Number(value))
    case 'object': {
      if (Array.isArray(value)) {
        let out = 'F'
        for (const item of value) out += encodeKey(item)
        return out + END
      }
      let out = 'G'
      for (const [k, v] of Object.entries(value as object)) out += encodeKey(k) + encodeKey(v)
      return out + END
    }
    default:
      throw new TypeError(`query(): a key must be JSON-like, got ${typeof value}`)
  }
}

/** The encoding of every key that starts with `prefix` (as `rowMatches` reads `prefix`) starts with this. */
export function encodePrefix(prefix: unknown): string {
  if (typeof prefix === 'string') return 'E' + escapeString(prefix)
  if (Array.isArray(prefix)) return 'F' + prefix.map(encodeKey).join('')
  return encodeKey(prefix)
}

/** The smallest string greater than every string that starts with `prefix` (undefined: no such bound). */
export function prefixEnd(prefix: string): string | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const code = prefix.charCodeAt(i)
    if (code < 0xffff) return prefix.slice(0, i) + String.fromCharCode(code + 1)
  }
  return undefined
}

/** Decodes the key at the start of an index key; returns it and where the doc id starts. */
export function decodeKey(text: string, start = 0): [unknown, number] {
  const tag = text[start]
  switch (tag) {
    case 'A':
      return [null, start + 1]
    case 'B':
      return [false, start + 1]
    case 'C':
      return [true, start + 1]
    case 'D':
      return [decodeNumber(text.slice(start + 1, start + 17)), start + 17]
    case 'E': {
      let out = ''
      let i = start + 1
      for (;;) {
        const c = text.charCodeAt(i)
        if (c === 0) return [out, i + 1]
        if (c === 1) {
          out += String.fromCharCode(text.charCodeAt(i + 1) - 1)
          i += 2
        } else {
          out += text[i]
          i++
        }
        if (i > text.length) throw new TypeError('Malformed index key')
      }
    }
    case 'F': {
      const out: unknown[] = []
      let i = start + 1
      while (text[i] !== END) {
        if (i >= text.length) throw new TypeError('Malformed index key')
        const [item, next] = decodeKey(text, i)
        out.push(item)
        i = next
      }
      return [out, i + 1]
    }
    case 'G': {
      const out: Record<string, unknown> = {}
      let i = start + 1
      while (text[i] !== END) {
        if (i >= text.length) throw new TypeError('Malformed index key')
        const [k, afterKey] = decodeKey(text, i)
        const [v, next] = decodeKey(text, afterKey)
        out[k as string] = v
        i = next
      }
      return [out, i + 1]
    }
    default:
      throw new TypeError(`Malformed index key (tag ${JSON.stringify(tag)})`)
  }
}

function escapeString(value: string): string {
  // \u0000 ends a string, so it and the escape character itself are written as \u0001 + (code + 1).
  return value.replace(/[\u0000\u0001]/g, (c) => '\u0001' + String.fromCharCode(c.charCodeAt(0) + 1))
}

const view = new DataView(new ArrayBuffer(8))

function encodeNumber(value: number): string {
  view.setFloat64(0, value === 0 ? 0 : value) // -0 collates equal to 0
  let hi = view.getUint32(0)
  let lo = view.getUint32(4)
  if (hi & 0x80000000) {
    hi = ~hi >>> 0
    lo = ~lo >>> 0
  } else {
    hi = (hi | 0x80000000) >>> 0
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0')
}

function decodeNumber(hex: string): number {
  let hi = parseInt(hex.slice(0, 8), 16)
  let lo = parseInt(hex.slice(8, 16), 16)
  if (hi & 0x80000000) {
    hi = (hi & 0x7fffffff) >>> 0
  } else {
    hi = ~hi >>> 0
    lo = ~lo >>> 0
  }
  view.setUint32(0, hi)
  view.setUint32(4, lo)
  return view.getFloat64(0)
}
