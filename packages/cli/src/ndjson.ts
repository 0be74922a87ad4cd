/**
 * Documents as JSON lines. JSON has no bytes: a `Uint8Array` field is written as DAG-JSON writes bytes,
 * `{"/":{"bytes":"<base64>"}}`, and read back as a `Uint8Array`. Everything else a document may hold is JSON.
 */
export function docToLine(doc: unknown): string {
  return JSON.stringify(doc, (_key, value: unknown) =>
    value instanceof Uint8Array ? { '/': { bytes: Buffer.from(value).toString('base64').replace(/=+$/, '') } } : value,
  )
}

/** Parses one line (throws SyntaxError), turning `{"/":{"bytes":…}}` back into a Uint8Array. */
export function parseLine(line: string): unknown {
  return JSON.parse(line, (_key, value: unknown) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
    const slash = (value as Record<string, unknown>)['/']
    if (Object.keys(value).length !== 1 || slash === null || typeof slash !== 'object') return value
    const bytes = (slash as Record<string, unknown>).bytes
    if (Object.keys(slash).length !== 1 || typeof bytes !== 'string') return value
    const buffer = Buffer.from(bytes, 'base64')
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
  })
}
