import { database, shareLink, type Attachment, type Doc, type StoredDoc } from '@proj/core'

/** A new database name: `todos-` and 12 random base-36 characters. */
export function newName(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12))
  return `todos-${Array.from(bytes, (byte) => (byte % 36).toString(36)).join('')}`
}

export const linkTo = (name: string, key: string) => shareLink(`${location.origin}/`, { db: name, key })

/**
 * Deletes this device's copy of a list (data and kept key). Core's browser build keeps database `<name>` in
 * the IndexedDB database `proj:<name>`.
 */
export function deleteLocalCopy(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(`proj:${name}`)
    request.onsuccess = () => resolve()
    request.onerror = () => reject(request.error ?? new Error(`could not delete this device's copy of ${name}`))
    request.onblocked = () =>
      reject(new Error(`another tab has list ${name} open: close it, then try again (this device's copy is deleted once it closes)`))
  })
}

/**
 * Moves the todos this device keeps of list `name` (opened with `key`) into a new list with a fresh key, then
 * deletes this device's copy. Used when the key turned out wrong for the room after todos were written with
 * it: they could be neither synced nor shown. Returns the new list's share link.
 */
export async function moveToNewList(name: string, key: string): Promise<string> {
  const created = newName()
  const from = database(name, { key })
  const to = database(created)
  let link: string
  try {
    const { rows } = await from.allDocs()
    await to.bulk(await Promise.all(rows.map((row) => portable(row.value))))
    link = linkTo(created, await to.exportKey())
  } finally {
    await Promise.all([from.close(), to.close()])
  }
  await deleteLocalCopy(name)
  return link
}

/** A stored document as a write to another database: its attachments as their files (an attachment belongs to the database that stored it). */
async function portable(doc: StoredDoc): Promise<Doc> {
  const { _files, ...fields } = doc
  if (!_files || typeof _files !== 'object') return fields
  const files: Record<string, File> = {}
  for (const [fileName, attachment] of Object.entries(_files as Record<string, Attachment>)) files[fileName] = await attachment.file()
  return { ...fields, _files: files }
}
