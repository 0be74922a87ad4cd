import { decodeBase64 } from './base64.js'
import { CliError } from './usage.js'

/**
 * What `proj load` accepts, line by line (so any size streams):
 *
 * 1. NDJSON of documents, as `proj dump` writes: `{"_id":"a","title":"milk"}`; `{"_id":"b","_deleted":true}`
 *    deletes b. A document without `_id` gets a new one.
 * 2. NDJSON of rows, as PouchDB/CouchDB `_all_docs?include_docs=true` or `_changes?include_docs=true` rows and
 *    Fireproof `allDocs()` rows: `{"id":"a","doc":{…}}`, `{"key":"a","value":{"_id":"a",…}}`;
 *    `{"id":"b","deleted":true}` or `"value":{"deleted":true}` deletes b.
 * 3. The JSON that CouchDB's `_all_docs` returns, which has one row per line between
 *    `{"total_rows":…,"rows":[` and `]}` (rows end with `,`); or the whole object `{"rows":[…]}` on one line
 *    (`JSON.stringify(await pouch.allDocs({ include_docs: true }))`).
 *
 * PouchDB's bookkeeping (`_rev`, `_revisions`, `_revs_info`, `_conflicts`, `_deleted_conflicts`, `_local_seq`)
 * is dropped; inline `_attachments` (`attachments=true`) become `{ content_type, data: Uint8Array }`; attachment
 * stubs without data are refused. Design documents (`_design/…`) and local documents (`_local/…`) are skipped.
 */
export type Parsed = { kind: 'doc'; doc: Record<string, unknown> } | { kind: 'skip'; id: string; why: string }

const POUCH_META = ['_rev', '_revisions', '_revs_info', '_conflicts', '_deleted_conflicts', '_local_seq']

/** The documents one line holds (none for the opening or closing line of a CouchDB listing). */
export function shapesOfLine(line: string, lineNo: number, parse: (text: string) => unknown): Parsed[] {
  let text = line.trim()
  if (text === '' || /^\]\s*(,.*)?\}$/.test(text) || text === ']') return []
  if (text.endsWith(',')) text = text.slice(0, -1)
  // The head of a CouchDB listing: `{"total_rows":3,"offset":0,"rows":[`
  if (/"rows"\s*:\s*\[$/.test(text)) return []
  let value: unknown
  try {
    value = parse(text)
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw new CliError(`line ${lineNo}: ${(error as Error).message}`)
    throw new CliError(`line ${lineNo}: not JSON (${error.message}): ${preview(text)}`)
  }
  if (!isObject(value)) throw new CliError(`line ${lineNo}: expected a JSON object (a document or a row), got ${preview(text)}`)
  if (isListing(value)) return value.rows.map((row, i) => fromRowOrDoc(row, `line ${lineNo}, row ${i}`))
  return [fromRowOrDoc(value, `line ${lineNo}`)]
}

/**
 * `{"total_rows":…,"rows":[…]}` (PouchDB/CouchDB), `{"rows":[…],"clock":…}` (Fireproof), or rows that are all
 * rows. A document's own `rows` field does not make it one: `{"_id":"t","rows":[{"a":1}]}` (as proj dump writes
 * it) was loaded as a new document per item, and the document itself was lost.
 */
function isListing(value: Record<string, unknown>): value is Record<string, unknown> & { rows: unknown[] } {
  const rows = value.rows
  if ('_id' in value || !Array.isArray(rows)) return false
  return 'total_rows' in value || 'clock' in value || (rows.length > 0 && rows.every((row) => isObject(row) && isRow(row)))
}

/** A row of a listing or of _changes: `{ id | key, doc | value | deleted | changes }`, no `_id`. */
function isRow(value: Record<string, unknown>): boolean {
  return !('_id' in value) && ('id' in value || 'key' in value) && ['doc', 'value', 'deleted', 'changes'].some((field) => field in value)
}

function fromRowOrDoc(value: unknown, where: string): Parsed {
  if (!isObject(value)) throw new CliError(`${where}: expected an object, got ${preview(JSON.stringify(value))}`)
  if (!isRow(value)) return fromDoc(value, where)
  // A row: PouchDB/CouchDB { id, key, value: { rev, deleted? }, doc? }, changes { id, deleted?, doc? }, Fireproof { key, value: doc }.
  const id = typeof value.id === 'string' ? value.id : typeof value.key === 'string' ? value.key : undefined
  if (id === undefined) throw new CliError(`${where}: a row without a string "id" or "key": ${preview(JSON.stringify(value))}`)
  const inner = isObject(value.value) ? value.value : undefined
  if (value.deleted === true || inner?.deleted === true || inner?._deleted === true) return fromDoc({ _id: id, _deleted: true }, where)
  if (isObject(value.doc)) return fromDoc(value.doc, where)
  if (inner && ('_id' in inner || !('rev' in inner))) return fromDoc({ _id: id, ...inner }, where)
  throw new CliError(`${where}: row ${JSON.stringify(id)} carries no document: export with include_docs=true`)
}

function fromDoc(doc: Record<string, unknown>, where: string): Parsed {
  const id = doc._id
  if (typeof id === 'string' && (id.startsWith('_design/') || id.startsWith('_local/'))) {
    return { kind: 'skip', id, why: id.startsWith('_design/') ? 'a design document (use db.index() for views)' : 'a local document' }
  }
  // Own properties made as JSON.parse makes them: `out[field] =` would set the prototype for "__proto__", a
  // field core stores and proj dump writes, and the document would be refused.
  const out: Record<string, unknown> = Object.fromEntries(
    Object.entries(doc)
      .filter(([field]) => !POUCH_META.includes(field))
      .map(([field, value]) => [field, field === '_attachments' ? attachments(value, where, id) : value]),
  )
  if (out._deleted === true) return { kind: 'doc', doc: { _id: out._id, _deleted: true } }
  if (out._deleted === false) delete out._deleted
  return { kind: 'doc', doc: out }
}

function attachments(value: unknown, where: string, id: unknown): unknown {
  if (!isObject(value)) return value
  const out: Record<string, unknown> = {}
  for (const [name, attachment] of Object.entries(value)) {
    // Already bytes: a document loaded from PouchDB before, as proj dump writes it back.
    if (isObject(attachment) && attachment.data instanceof Uint8Array) {
      out[name] = attachment
      continue
    }
    if (!isObject(attachment) || typeof attachment.data !== 'string') {
      throw new CliError(
        `${where}: attachment ${JSON.stringify(name)} of ${JSON.stringify(id)} has no inline data (a stub): export with attachments=true`,
      )
    }
    const data = decodeBase64(attachment.data)
    if (!data) throw new CliError(`${where}: attachment ${JSON.stringify(name)} of ${JSON.stringify(id)} has data that is not base64: ${preview(JSON.stringify(attachment.data))}`)
    out[name] = { ...(typeof attachment.content_type === 'string' ? { content_type: attachment.content_type } : {}), data }
  }
  return out
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array)
}

function preview(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text
}
