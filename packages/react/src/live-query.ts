import type { Database, Doc, Index, MapFn, QueryOptions, QueryRow, StoredDoc } from '@proj/core'
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import { asError } from './as-error.js'
import { useChanges, useDb } from './database.js'
import { describe } from '@proj/core/kit'
import { sameValue } from './same.js'

export interface LiveQueryOptions extends QueryOptions {
  /** The database; default: the nearest <DatabaseProvider>. */
  db?: Database
}

/** What a live query reads: a field name, a map function (named with `{ index }` or not), or a `db.index()` handle. */
export type LiveQuerySource = string | MapFn | Index

export interface LiveQueryResult<T extends Doc = Doc> {
  rows: QueryRow<T>[]
  /** `row.doc` of every row, when `includeDocs` is set; otherwise empty. */
  docs: StoredDoc<T>[]
  /** True until the first answer to this query (this field, index name, function source and options) is in. */
  loading: boolean
  error: Error | undefined
}

interface Answer<T extends Doc> {
  db: Database
  shape: string
  rows: QueryRow<T>[]
  error: Error | undefined
  done: boolean
}

/**
 * `db.query(field | mapFn, options)` (or `handle.query(options)`), re-run after every local or remote change and
 * whenever the query changes: another field, index name, options, or another function object.
 *
 * Rows are only ever shown for the query's shape (field / index name / function source, and options): another
 * shape starts empty and `loading`. A new function object with the same source as the previous one (an inline
 * arrow made anew by each render, or a closure over another value) is re-run while the previous rows stay
 * shown; its own answer replaces them as soon as it is in, and an equal answer does not re-render.
 */
export function useLiveQuery<T extends Doc = Doc>(source: LiveQuerySource, options: LiveQueryOptions = {}): LiveQueryResult<T> {
  const { db: given, ...query } = options
  const db = useDb(given, 'useLiveQuery()')
  const shape = queryShape(source, query)
  const [answer, setAnswer] = useState<Answer<T>>(() => ({ db, shape, rows: [], error: undefined, done: false }))
  const latest = useRef({ source, query })
  latest.current = { source, query }
  // Runs are numbered. An answer is shown when no later run has answered yet and its query is still the one
  // asked: a run that is not the newest still answers from a newer state than the one shown. (Only the newest
  // one was shown before, so while changes kept coming faster than a query answered, nothing ever was.)
  const runs = useRef({ started: 0, answered: 0, void: 0 })

  const run = useCallback(() => {
    const mine = ++runs.current.started
    const current = () => mine > runs.current.void && mine > runs.current.answered
    const { source, query } = latest.current
    ask<T>(source, query, db).then(
      (rows) => {
        if (!current()) return
        runs.current.answered = mine
        setAnswer((previous) =>
          previous.db === db && previous.shape === shape && previous.done && !previous.error && sameValue(previous.rows, rows)
            ? previous
            : { db, shape, rows, error: undefined, done: true },
        )
      },
      (error: unknown) => {
        if (!current()) return
        runs.current.answered = mine
        setAnswer({ db, shape, rows: [], error: asError(error), done: true })
      },
    )
  }, [db, shape])

  // `source` is a dependency on purpose: another function object (or handle) is another query, even when its
  // source text (hence `shape`) is the same, e.g. `only(color)` after `color` changed.
  useEffect(() => {
    run()
    return () => {
      // The runs so far asked another query (or the component is gone): their answers are not shown.
      runs.current.void = runs.current.started
    }
  }, [run, source])
  useChanges(db, () => run())

  const fresh = answer.db === db && answer.shape === shape
  return useMemo(() => {
    const rows = fresh ? answer.rows : []
    return {
      rows,
      docs: rows.flatMap((row) => (row.doc ? [row.doc] : [])),
      loading: !fresh || !answer.done,
      error: fresh ? answer.error : undefined,
    }
  }, [fresh, answer])
}

function isIndexHandle(source: unknown): source is Index {
  return typeof source === 'object' && source !== null && typeof (source as Index).name === 'string' && typeof (source as Index).query === 'function'
}

/** What identifies the rows a query answers with, as a string; throws a TypeError for what is not a query. */
function queryShape(source: LiveQuerySource, query: QueryOptions): string {
  if (typeof source === 'string') return JSON.stringify(['field', source, query])
  if (typeof source === 'function') {
    const { index, ...rest } = query
    return index === undefined ? JSON.stringify(['map', source.toString(), rest]) : JSON.stringify(['index', index, source.toString(), rest])
  }
  if (isIndexHandle(source)) {
    if ('index' in query) {
      throw new TypeError(`useLiveQuery(): the db.index(${JSON.stringify(source.name)}) handle names the index; drop the index option (${JSON.stringify(query.index)})`)
    }
    return JSON.stringify(['handle', source.name, query])
  }
  throw new TypeError(`useLiveQuery() expects a field name, a map function or a db.index() handle, got ${describe(source)}`)
}

async function ask<T extends Doc>(source: LiveQuerySource, query: QueryOptions, db: Database): Promise<QueryRow<T>[]> {
  const { rows } = isIndexHandle(source) ? await source.query<T>(query) : await db.query<T>(source, query)
  return rows
}
