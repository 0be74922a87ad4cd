import type { Attachment, StoredDoc } from '@proj/core'

/** A todo as this page writes it: `created` orders the list (ms since epoch on the device that made it). */
export type Todo = {
  _id?: string
  title: string
  done: boolean
  created: number
}

/**
 * What the page shows of a document. Anything may be in the list's database (another version of the app,
 * another app, a hand-made import), so every field is read defensively and nothing here is ever written back:
 * writes start from the stored document and change only the field the user changed.
 */
export interface TodoView {
  id: string
  /** The title as text; '' when the document has none that reads as text (then the row says "(no title)"). */
  title: string
  /** Only `done: true` counts as done. */
  done: boolean
  /** Sort key; documents without a usable `created` go last. */
  created: number
  /** The todo's picture: `_files.image` when it is an image attachment. */
  image?: Attachment
}

export function viewOf(doc: StoredDoc): TodoView {
  const { title, done, created } = doc
  return {
    id: doc._id,
    title: typeof title === 'string' ? title : typeof title === 'number' && Number.isFinite(title) ? String(title) : '',
    done: done === true,
    created: typeof created === 'number' && Number.isFinite(created) ? created : Number.POSITIVE_INFINITY,
    ...imageOf(doc),
  }
}

function imageOf(doc: StoredDoc): { image?: Attachment } {
  const files = doc._files as Record<string, Attachment> | undefined
  const image = files && typeof files === 'object' ? files.image : undefined
  return image && typeof image.file === 'function' && typeof image.type === 'string' && image.type.startsWith('image/') ? { image } : {}
}

/** Oldest first, then by id, so that every device shows the same order. */
export function byCreated(a: TodoView, b: TodoView): number {
  if (a.created !== b.created) return a.created < b.created ? -1 : 1
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}
