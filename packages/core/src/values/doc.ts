/** A JSON-like document. `_id` is made (uuidv7) when absent. */
export interface Doc {
  _id?: string
  [field: string]: unknown
}
export type StoredDoc<T extends Doc = Doc> = T & { _id: string }
