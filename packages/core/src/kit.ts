/**
 * What connector packages may import from core at run time (core is their peer dependency): the error
 * classes a connector throws, the rule sync uses to tell permanent failures from transient ones, file names
 * (CIDs) and their verification, the name rule for databases and branches, and the text form of a meta
 * entry, share links, and the option shape of `connect.*`. Small on purpose; no storage, no encryption.
 */
export {
  AuthError,
  BackendConfigError,
  ConnectorError,
  FormatVersionError,
  IntegrityError,
  KeyMismatchError,
  KeyRevokedError,
  isPermanentError,
} from './errors.js'
export { fileCid, parseFileCid, verifyCid } from './kit/cid.js'
export { checkName, describe } from './kit/names.js'
export { checkTargetKeys, OptionError, splitConnectOptions, SYNC_OPTIONS } from './kit/connect-options.js'
export { metaEntryFromWire, metaEntryToWire, type WireMetaEntry } from './kit/meta-entry-wire.js'
export { parseShareLink, shareLink, type ShareLink } from './kit/share-link.js'
