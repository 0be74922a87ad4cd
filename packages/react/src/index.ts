export { DatabaseProvider, useDatabase } from './database.js'
export { useLiveQuery, type LiveQueryOptions, type LiveQueryResult, type LiveQuerySource } from './live-query.js'
export { useDocument, type DocumentInitial, type DocumentOptions, type UseDocumentResult } from './document.js'
export type { Database, DatabaseOptions, Doc, Index, MapFn, QueryOptions, QueryRow, StoredDoc, WriteResult } from '@proj/core'
