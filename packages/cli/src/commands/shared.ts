import type { Database } from '@proj/core'

/** The options every command reading a database takes. */
export const targetOptions = {
  name: { type: 'string' },
  key: { type: 'string' },
  token: { type: 'string' },
  branch: { type: 'string' },
  quiet: { type: 'boolean' },
} as const

export const targetHelp = `Where (<dir|url>):
  ./data/todos            a local database folder (it holds files/ and records/)
  ./data --name todos     the same, by its parent folder, as in database('todos', { dir: './data' })
  ./store --name todos    a store folder written by proj serve or proj export
  http://host:8787        a proj serve store (or a static server of an exported folder); needs --name

Options:
  --name <database>   the database name (needed for stores and URLs)
  --key <key>         the database key (db.exportKey()); needed for stores and URLs, or set PROJ_KEY.
                      A local database keeps its own key.
  --token <token>     the proj serve --token, for writes to a URL (or set PROJ_TOKEN)
  --branch <branch>   meta branch, default main
  --quiet             no progress line (it is shown only on a terminal anyway)`

/** Live and deleted documents, read page by page through changes(). */
export async function countDocs(db: Database, onPage?: (seen: number) => void): Promise<{ live: number; deleted: number }> {
  let live = 0
  let deleted = 0
  let since: Parameters<Database['changes']>[0]
  for (;;) {
    const page = await db.changes(since, { limit: 1000 })
    for (const row of page.rows) {
      if (row.deleted) deleted++
      else live++
    }
    onPage?.(live + deleted)
    if (!page.next) return { live, deleted }
    since = page.next
  }
}

/** Writes to a stream, waiting when its buffer is full (a slow pipe must not make memory grow). */
export async function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await new Promise<void>((drained) => stream.once('drain', drained))
}
