import type { SyncOptions } from '../sync/api.js'
import { describe } from './names.js'

/** A `connect.*` option that does not exist or has a value it cannot take; names the option, never echoes secrets. */
export class OptionError extends TypeError {
  override readonly name = 'OptionError'
  constructor(
    /** Who was called, e.g. `connect.s3`. */
    readonly where: string,
    /** The option at fault. */
    readonly option: string,
    detail: string,
  ) {
    super(`${where}: ${detail}`)
  }
}

/** The options core's sync takes, accepted the same way by every `connect.*` (see SyncOptions). */
export const SYNC_OPTIONS = ['branch', 'pollInterval', 'maxBackoff', 'flushTimeout', 'callTimeout'] as const

const isMs = (value: unknown, min: number) => typeof value === 'number' && Number.isFinite(value) && value >= min

function checkSyncValue(where: string, name: (typeof SYNC_OPTIONS)[number], value: unknown): void {
  if (value === undefined) return
  const ok = name === 'branch' ? typeof value === 'string' && value !== '' : isMs(value, name === 'pollInterval' ? 0 : 1)
  if (ok) return
  const expected =
    name === 'branch' ? 'a non-empty string' : name === 'pollInterval' ? 'a number of ms >= 0 (0: no polling)' : 'a number of ms > 0'
  throw new OptionError(where, name, `option ${name} must be ${expected}, got ${describe(value)}`)
}

/**
 * The one option shape of `connect.<backend>(db, target, options)`: `options` is flat, the connector's own
 * names (`own`) next to core's SyncOptions. Splits it into the two, or throws OptionError naming an unknown
 * option (listing the known ones) or a bad sync value. A connector checks its own values itself.
 */
export function splitConnectOptions<Own extends object>(
  where: string,
  options: (Own & SyncOptions) | undefined,
  own: readonly (keyof Own & string)[],
): { own: Own; sync: SyncOptions } {
  if (options === undefined) return { own: {} as Own, sync: {} }
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new OptionError(where, 'options', `options must be an object, got ${describe(options)}`)
  }
  const ownOptions: Record<string, unknown> = {}
  const sync: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(options)) {
    if ((SYNC_OPTIONS as readonly string[]).includes(name)) {
      checkSyncValue(where, name as (typeof SYNC_OPTIONS)[number], value)
      if (value !== undefined) sync[name] = value
    } else if ((own as readonly string[]).includes(name)) {
      ownOptions[name] = value
    } else {
      const known = [...own, ...SYNC_OPTIONS].join(', ')
      throw new OptionError(where, name, `unknown option ${JSON.stringify(name)} (the options are ${known})`)
    }
  }
  return { own: ownOptions as Own, sync: sync as SyncOptions }
}

/**
 * The backend's description, the second argument of `connect.<backend>(db, target, options)` where it is an
 * object (S3's bucket, IPFS's gateway): refuses names it does not know, saying that sync options go in the
 * third argument.
 */
export function checkTargetKeys(where: string, target: object, known: readonly string[]): void {
  for (const name of Object.keys(target)) {
    if (known.includes(name)) continue
    const hint = (SYNC_OPTIONS as readonly string[]).includes(name) ? `; sync options go in the third argument, options` : ''
    throw new OptionError(where, name, `unknown option ${JSON.stringify(name)} in the target (the target takes ${known.join(', ')})${hint}`)
  }
}
