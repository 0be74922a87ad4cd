import { decodeBase64 } from './base64.js'

/**
 * Documents as JSON lines. JSON has no bytes: a `Uint8Array` field is written as DAG-JSON writes bytes,
 * `{"/":{"bytes":"<base64>"}}`, and read back as a `Uint8Array`. An object of the document's own whose one key
 * is "/" would read back as something else (bytes, for `{"/":{"bytes":"AQI"}}`), so it is written escaped,
 * `{"/":{"object":<what its "/" holds>}}`, and read back as it was. Everything else a document may hold is JSON.
 */
export function docToLine(doc: unknown): string {
  return JSON.stringify(doc, (_key, value: unknown) => {
    if (value instanceof Uint8Array) return { '/': { bytes: Buffer.from(value).toString('base64').replace(/=+$/, '') } }
    if (isSlashObject(value)) return { '/': { object: value['/'] } }
    return value
  })
}

/**
 * Parses one line (throws SyntaxError for what is not JSON, TypeError for bytes that are not base64):
 * `{"/":{"bytes":…}}` becomes a Uint8Array, `{"/":{"object":v}}` `{"/":v}`.
 */
export function parseLine(line: string): unknown {
  return JSON.parse(line, (_key, value: unknown) => {
    if (!isSlashObject(value)) return value
    const slash = value['/']
    if (slash === null || typeof slash !== 'object' || Array.isArray(slash) || Object.keys(slash).length !== 1) return value
    const { bytes, object } = slash as { bytes?: unknown; object?: unknown }
    if ('object' in slash) return { '/': object }
    if (typeof bytes !== 'string') return value
    const decoded = decodeBase64(bytes)
    if (!decoded) throw new TypeError(`{"/":{"bytes":…}} holds ${preview(bytes)}, which is not base64`)
    return decoded
  })
}

/** A plain object whose only key is "/" (DAG-JSON's reserved form). */
function isSlashObject(value: unknown): value is { '/': unknown } {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) return false
  const keys = Object.keys(value)
  return keys.length === 1 && keys[0] === '/'
}

function preview(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)
}
