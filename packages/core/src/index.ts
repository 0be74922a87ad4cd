export { database } from './database/database.js'
export type * from './database/api.js'
export type * from './sync/api.js'
export type * from './connector/api.js'
export type { Attachment, AttachmentInput } from './attachments/api.js'
export {
  NotFoundError,
  ClockChangedError,
  KeyMismatchError,
  KeyRevokedError,
  IntegrityError,
  ConnectorError,
  ClosedError,
  CorruptRecordError,
  NotDownloadedError,
  DatabaseLockedError,
  DatabaseInUseError,
  FormatVersionError,
  AuthError,
  BackendConfigError,
  isPermanentError,
} from './errors.js'
export { MissingBlockError } from './blockstore/store.js'
export { MissingFileError } from './sync/missing-file.js'
export { HistoryUnavailableError } from './database/view.js'
export { shareLink, parseShareLink, type ShareLink } from './kit/share-link.js'
export { inspectLocal, inspectBackend } from './inspect.js'
export type { BackendRecord, BackendReport, FileProblem, FilesReport, InspectOptions, InspectProgress, LocalReport } from './inspect.js'
