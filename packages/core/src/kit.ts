/**
 * What connector packages may import from core at run time: the error classes a connector throws and the
 * rule sync uses to tell permanent failures from transient ones. Small on purpose; no storage, no crypto.
 */
export {
  AuthError,
  BackendConfigError,
  ConnectorError,
  FormatVersionError,
  IntegrityError,
  KeyMismatchError,
  isPermanentError,
} from './errors.js'
