import { sameClock } from '../clock/same-clock.js'
import { Emitter } from './emitter.js'
import { Scheduler } from './scheduler.js'
import type { CallOptions, Connector, MetaEntry } from '../connector/api.js'
import type { Clock } from '../clock/api.js'
import type { Replica } from './replica.js'
import type { HeadState } from '../format/head.js'
import { CallTimeoutError, ConnectorError, InconsistentHeadError, KeyMismatchError } from '../errors.js'
import type { Sync, SyncEvents, SyncOptions, SyncProgress, SyncStatus, SyncWarning } from './api.js'
import { openHead, sealHead } from './meta-entry.js'
import { Outbox } from './outbox.js'
import { callAllowance } from './call-timeout.js'
import { MissingFileError, fileAnsweredAbsent } from './missing-file.js'

const UPLOAD_CONCURRENCY = 4
const RECORD_INTERVAL = 1000
/** A failed upload is retried in place this many times (transient failures only) before the push fails. */
const UPLOAD_RETRIES = 4
/** Files whose headers are read at once while walking a head's closure. */
const WALK_BATCH = 16

/**
 * Replicates one database through one connector: files first, then the meta entry that needs them; pulls
 * entries (pushed or polled) and merges them. What the backend holds is tracked per file (see Outbox) and
 * kept on disk, so what is not yet uploaded survives restarts.
 */
/** `onClosed` is called once when the sync closes (the database stops listing it in info()). */
export function createSync(replica: Promise<Replica>, connector: Connector, options: SyncOptions, onClosed?: () => void): Sync {
  return new SyncEngine(replica, connector, options, onClosed)
}

/**
 * Open syncs per connector object. One connector may serve several databases (connect-partykit keeps a room
 * for each): a sync closes its connector only when it was the last one using it, not under the others' feet.
 */
const syncsUsing = new WeakMap<Connector, number>()

class SyncEngine implements Sync {
  readonly ready: Promise<void>
  #status: SyncStatus = 'connecting'
  #lastError: ConnectorError | undefined
  readonly #events = new Emitter<SyncEvents>('Sync')
  readonly #scheduler: Scheduler
  readonly #connector: Connector
  readonly #options: Required<SyncOptions>
  #replica: Replica | undefined
  #closed = false
  #outbox = new Outbox()
  /** A permanent failure stops automatic retries; flush(), refresh() or a reconnect try once more. */
  #halted: ConnectorError | undefined
  #paused = false
  #firstPullDone = false
  readonly #progress: SyncProgress = { upload: { files: 0, done: 0, bytes: 0 }, download: { files: 0, bytes: 0 } }
  /** Entries skipped (another key, unreadable), reported once each. */
  readonly #skipped = new Set<string>()
  /**
   * Entries refused although a key this device holds opened them: sealed by a key it rotated away, or
   * contradicting their own events (see #checkKey: they show this device's key belongs to the backend).
   */
  readonly #refusedOwnKey = new Set<string>()
  /** Remote entries whose state the local head contains: the next save replaces them. */
  #merged = new Set<string>()
  /** Entries already opened, by CID, so polling does not decrypt the same bytes again. */
  #opened = new Map<string, HeadState | null>()
  #remoteCovers = false
  #wantPush = true
  #wantPull = true
  #running: Promise<void> | undefined
  #attempt = 0
  #cleanups: (() => void)[] = []
  #rejectReady: (error: unknown) => void = () => {}
  /** Files this backend served whose header this device has not read yet (see onFileRead in #start). */
  readonly #servedHere = new Set<string>()
  readonly #onClosed: (() => void) | undefined

  constructor(replica: Promise<Replica>, connector: Connector, options: SyncOptions, onClosed?: () => void) {
    this.#connector = connector
    syncsUsing.set(connector, (syncsUsing.get(connector) ?? 0) + 1)
    this.#onClosed = onClosed
    this.#options = {
      branch: options.branch ?? '',
      pollInterval: options.pollInterval ?? 1000,
      maxBackoff: options.maxBackoff ?? 10_000,
      flushTimeout: options.flushTimeout ?? 30_000,
      callTimeout: options.callTimeout ?? (options.flushTimeout ?? 30_000) / 2,
    }
    this.#scheduler = new Scheduler({ maxBackoff: this.#options.maxBackoff })
    let resolveReady!: () => void
    let rejectReady!: (error: unknown) => void
    this.ready = new Promise<void>((resolve, reject) => {
      resolveReady = resolve
      rejectReady = reject
    })
    this.ready.catch(() => {})
    this.#rejectReady = rejectReady
    let localReady!: () => void
    this.#localReady = new Promise<void>((resolve) => (localReady = resolve))
    this.#markLocalReady = localReady
    this.#start(replica).then(resolveReady, rejectReady).finally(localReady)
  }

  get status(): SyncStatus {
    return this.#status
  }

  get lastError(): ConnectorError | undefined {
    return this.#lastError
  }

  get skipped(): number {
    return this.#skipped.size
  }

  get progress(): SyncProgress {
    return { upload: { ...this.#progress.upload }, download: { ...this.#progress.download } }
  }

  get paused(): boolean {
    return this.#paused
  }

  /**
   * Resolves once the database is open and the record of what the backend holds is loaded (or the start
   * failed): pending() needs no more, and must answer while the backend is unreachable, when a count of what
   * waits matters most (db.info() waited for the first pull, for as long as the backend was down).
   */
  readonly #localReady: Promise<void>
  readonly #markLocalReady: () => void

  async pending(): Promise<{ files: number; bytes: number }> {
    await this.#localReady
    const head = this.#replica?.head()
    if (!head || this.#closed) return { files: 0, bytes: 0 }
    const { missing } = await this.#walkUnheld(head.files)
    let bytes = 0
    for (const file of missing) bytes += (await this.#replica!.store.fileBytes(file)).length
    return { files: missing.length, bytes }
  }

  pause(): void {
    this.#paused = true
    for (const listener of [...this.#onPause]) listener()
  }

  /** Flushes waiting: pause() rejects them at once, not after the call in flight (slow, or hung) ends. */
  readonly #onPause = new Set<() => void>()

  resume(): void {
    if (!this.#paused) return
    this.#paused = false
    this.#wantPull = true
    this.#wantPush = true
    this.#scheduler.wake()
    this.#kick()
  }

  #emitProgress(): void {
    this.#emit('progress', this.progress)
  }

  get #db(): string {
    return this.#replica!.name
  }

  get #branch(): string {
    return this.#options.branch || this.#replica!.branch
  }

  /** The record of what this backend holds, when the connector names its backend (see Connector.id). */
  #recordName: string | undefined

  /**
   * What `ready`, flush() and refresh() reject with once the sync is closed. `ready` must not resolve then: it
   * says the first pull was merged, and none was.
   */
  #closedError(op: string): ConnectorError {
    return new ConnectorError(this.#connector.name, op, new Error('the sync was closed'))
  }

  async #start(replicaPromise: Promise<Replica>): Promise<void> {
    const replica = await replicaPromise
    this.#replica = replica
    if (this.#connector.id) {
      const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(this.#connector.id))
      const hex = [...new Uint8Array(digest).subarray(0, 12)].map((b) => b.toString(16).padStart(2, '0')).join('')
      this.#recordName = `sync.${this.#connector.name}.${hex}.${this.#branch}`
      this.#outbox = await Outbox.load(replica.storage, this.#recordName)
    }
    // Closed while the database opened: close() ran before anything below was registered, so register nothing
    // (a closed sync must not stay a source of the database's missing blocks, nor open its connector again).
    if (this.#closed) throw this.#closedError('pull')
    this.#markLocalReady()
    this.#cleanups.push(
      replica.store.addSource(async (cid) => {
        try {
          // A lazy read should not fail on one lost packet: transient failures are retried in place.
          const bytes = await this.#retrying('download', () => this.#call('download', 0, (call) => this.#connector.download(this.#db, cid, call)))
          if (!bytes) {
            this.#noteAnsweredAbsent(cid)
            return undefined
          }
          this.#answeredAbsent.delete(cid)
          // A file that came from this backend is there already, and so is everything it references (a
          // meta entry names a file only after its whole closure was uploaded): never upload it back.
          this.#outbox.markComplete(cid)
          this.#servedHere.add(cid)
          this.#progress.download.files++
          this.#progress.download.bytes += bytes.length
          this.#emitProgress()
          return bytes
        } catch (error) {
          const failure = this.#fail('download', error)
          // Bad bytes are an IntegrityError wherever they are caught: by core verifying what a connector
          // returned, or by a connector that verifies its downloads itself (S3, IPFS).
          throw integrityFailure(failure) ?? failure
        }
      }),
      // The files a served file names are held here too (its whole closure was uploaded before any entry named
      // it): a lazy device that never read them (attachment chunks) must not download them to walk them.
      replica.store.onFileRead((file, references) => {
        if (!this.#servedHere.delete(file)) return
        for (const reference of references) this.#outbox.markComplete(reference)
      }),
      // Compaction keeps local files this backend does not hold yet: deleting them would lose what they carry.
      replica.retainFiles((file) => !this.#closed && !this.#outbox.isHeld(file)),
      replica.onHead(() => {
        // Adopting a remote entry's state (a fast-forward) leaves nothing to push: the backend holds that
        // clock already. Saving it again would only make every other device open and merge an entry it has.
        const head = replica.head()
        if (head && this.#arriving && sameClock(head, this.#arriving)) {
          this.#remoteCovers = true
          return
        }
        this.#remoteCovers = false
        this.#wantPush = true
        this.#setStatus(this.#status === 'offline' || this.#status === 'error' ? this.#status : 'pending')
        this.#kick()
      }),
    )
    replica.onClose(() => this.close())
    if (this.#connector.onStatus) {
      this.#listen('watch status', () =>
        this.#connector.onStatus!((status) => {
          this.#connectionOpen = status === 'open'
          if (status === 'offline') this.#setStatus('offline')
          else if (status === 'open' && (this.#status === 'offline' || this.#status === 'error')) {
            // Back online: catch up on what was missed and push what queued up.
            this.#attempt = 0
            this.#halted = undefined
            this.#wantPull = true
            this.#wantPush = true
            this.#scheduler.wake()
            this.#kick()
          }
        }),
      )
    }
    if (this.#connector.subscribe) {
      this.#listen('subscribe', () =>
        this.#connector.subscribe!(this.#db, this.#branch, (entries, replaced) => {
          // While paused nothing is merged; resume() pulls the current set.
          if (this.#paused) return
          // A look too: a listing asked for before this push arrived may lack its entries (see #looks).
          this.#newestLookApplied = ++this.#looks
          this.#noteReplaced(replaced)
          void this.#exclusiveMerge(entries).catch((error) => {
            this.#fail('merge', error)
            // The pushed entries are off the queue; nothing else may bring them (no poll, or a slow one): a
            // pull loads them again, and the loop's backoff retries it while the failure lasts.
            this.#wantPull = true
            this.#kick()
          })
        }),
      )
    }
    // The first pull has to succeed for `ready`: transient failures are retried with backoff until it does
    // (or the sync is closed); a permanent one (auth, missing bucket, wrong key) rejects `ready` at once and
    // stops: retrying cannot help until the configuration changes.
    for (;;) {
      if (this.#closed) throw this.#closedError('pull')
      try {
        await this.#pull({ first: true })
        break
      } catch (error) {
        const failure = this.#fail('load', error)
        if (failure.permanent) {
          this.#halted = failure
          throw failure
        }
        await this.#scheduler.sleep(this.#backoff())
      }
    }
    this.#attempt = 0
    this.#wantPull = false
    this.#firstPullDone = true
    // An empty branch while this device's record says the backend holds files: the store was emptied since
    // (see #backendEmptied), or an upload was cut short before its entry was saved. Pushing at once would name
    // files the backend may have lost, and flush() would promise a clock no device can read: the push waits
    // for the audit, or, without `has` to ask, forgets them all and uploads them again.
    if (!this.#backendHadEntries && this.#outbox.heldFiles().length > 0) this.#distrustHeld()
    else if (this.#connector.has) {
      const audit = this.#auditHeldFiles()
      this.#sessionAudit = audit
      void audit.finally(() => {
        if (this.#sessionAudit === audit) this.#sessionAudit = undefined
      })
    }
    this.#kick()
    this.#schedulePoll()
  }

  /**
   * The connector's persistent connection is open (see Connector.onStatus). A backend reset under it (a room's
   * storage wiped, a server restarted empty) drops the connection, and the reconnection pulls before the next
   * push: a push then need not read the branch first (see #push).
   */
  #connectionOpen = false

  /**
   * This session's check of the files this device believes the backend holds, while it runs. Pushes do not
   * wait for it (it asks `has` about every such file: long for a big database), but flush() does: a file the
   * backend lost since the last session is still believed held, and a push during the check saves an entry
   * naming it; flush() resolved with that clock, which no other device could read (MissingFileError).
   * Waiting, the flush's next push uploads what the check found lost.
   */
  #sessionAudit: Promise<boolean> | undefined

  /** What the next push waits for (the audit of a backend found empty, see #distrustHeld). */
  #pushAfter: Promise<void> | undefined

  /**
   * Files the backend lost were forgotten (see Outbox.forget) and not all uploaded again since: a push must
   * upload them even when an entry at the backend has the local state (#remoteCovers), which says nothing
   * about its files. Before, a pull that saw that entry, or a save that landed after the check, made the push
   * skip them: the backend lacked a file its current entry needs, and flush() resolved all the same.
   */
  #repairPending = false
  /** How many times held files were forgotten: an upload walk that began before the last one repaired nothing. */
  #forgets = 0

  #forgetHeld(files: Iterable<string>): void {
    this.#outbox.forget(files)
    this.#forgets++
    this.#repairPending = true
  }

  /**
   * The backend may have lost what this device believes it holds: the next push waits until `has` has
   * checked every held file (an audit that failed proves nothing), or, without `has`, forgets them all, so the
   * push uploads again whatever the head needs and the backend lacks.
   */
  #distrustHeld(): void {
    const forgetAll = () => this.#forgetHeld(this.#outbox.heldFiles())
    if (!this.#connector.has) return forgetAll()
    if (this.#pushAfter) return
    this.#pushAfter = this.#auditHeldFiles()
      .then((checked) => void (checked || forgetAll()))
      .finally(() => (this.#pushAfter = undefined))
  }

  /**
   * Registers a connector listener. One that throws (a closed connector, a bad configuration) fails the start
   * as every permanent failure does: typed and named, status 'error', an 'error' event; a retry would throw again.
   */
  #listen(op: string, register: () => () => void): void {
    try {
      this.#cleanups.push(register())
    } catch (error) {
      const failure = this.#fail(op, error)
      this.#halted = failure
      this.#setStatus('error')
      throw failure
    }
  }

  /**
   * Once per session: asks the backend whether it still holds the local files this device believes it
   * holds. A file the backend lost (deleted on the server) is forgotten, so the next push uploads it again
   * from here; without this, readers would fail on it for good. Resolves with whether every file was checked.
   */
  async #auditHeldFiles(): Promise<boolean> {
    const replica = this.#replica!
    try {
      const local = new Set(await replica.storage.listFiles())
      const candidates = this.#outbox.heldFiles().filter((file) => local.has(file))
      const lost: string[] = []
      await eachLimited(candidates, UPLOAD_CONCURRENCY, async (file) => {
        if (this.#closed) return
        if (!(await this.#call('check', 0, (call) => this.#connector.has!(this.#db, file, call)))) lost.push(file)
      })
      if (lost.length && !this.#closed) {
        this.#forgetHeld(lost)
        this.#remoteCovers = false
        this.#wantPush = true
        this.#kick()
      }
      return !this.#closed
    } catch (error) {
      // Only a repair is delayed (to the next session); sync itself is unaffected.
      this.#fail('check which files the backend holds', error)
      return false
    }
  }

  #schedulePoll(): void {
    if (this.#closed || this.#options.pollInterval <= 0) return
    // A pushing backend is still polled, slowly: a push lost while reconnecting is caught up this way.
    this.#scheduler.after(this.#connector.subscribe ? this.#options.pollInterval * 10 : this.#options.pollInterval, () => {
      this.#wantPull = true
      this.#kick()
      this.#schedulePoll()
    })
  }

  #kick(): void {
    // Nothing runs before the first pull succeeded: a device whose key opens nothing at the backend must
    // learn it (KeyMismatchError) before it can push an entry no other device can read.
    if (this.#closed || !this.#firstPullDone || this.#running || this.#halted || this.#paused) return
    this.#running = this.#loop().finally(() => {
      this.#running = undefined
      if ((this.#wantPush || this.#wantPull) && !this.#closed && this.#attempt === 0) this.#kick()
    })
  }

  async #loop(): Promise<void> {
    while (!this.#closed && !this.#paused && (this.#wantPull || this.#wantPush)) {
      this.#iterationsStarted++
      try {
        let pulled = false
        if (this.#wantPull) {
          this.#wantPull = false
          await this.#pull()
          pulled = true
        }
        // pause() during the pull holds back the push after it too (a metered connection: no upload starts).
        if (this.#wantPush && !this.#paused) {
          this.#wantPush = false
          await this.#push({ afterPull: pulled })
        }
        this.#attempt = 0
        this.#setStatus(this.#remoteCovers && !this.#wantPush && !this.#repairPending ? 'synced' : 'pending')
      } catch (error) {
        const failure = this.#fail('sync', error)
        this.#wantPull = true
        this.#wantPush = true
        if (failure.permanent) {
          this.#halted = failure
          if (failure.cause instanceof MissingFileError) this.#lookAgainLater(failure)
          return
        }
        await this.#scheduler.sleep(this.#backoff())
      } finally {
        this.#iterationsFinished++
        for (const resolve of this.#iterationWaiters.splice(0)) resolve()
      }
    }
  }

  /**
   * A file the backend lacks can come back, unlike a refused key or a missing bucket: the device that holds it
   * uploads it again at its next session. So the halt it caused is lifted at the longest backoff and the
   * backend looked at again (met again, the same failure is not reported twice: see #fail); before, a device
   * stopped for good until its app called refresh() or connected again.
   */
  #lookAgainLater(failure: ConnectorError): void {
    this.#scheduler.after(this.#scheduler.backoff(Number.MAX_SAFE_INTEGER, 100), () => {
      if (this.#halted !== failure || this.#closed) return
      this.#halted = undefined
      this.#wantPull = true
      this.#kick()
    })
  }

  #iterationsStarted = 0
  #iterationsFinished = 0
  readonly #iterationWaiters: (() => void)[] = []

  #backoff(): number {
    return this.#scheduler.backoff(this.#attempt++, 100)
  }

  /**
   * Entries a pushing backend said a later save removed (see Connector.subscribe): their saver had merged
   * them. Pulls forget them (a pull's set is current); bounded so a long session cannot grow it forever.
   */
  readonly #replacedRemote = new Set<string>()

  #noteReplaced(replaced: readonly string[] | undefined): void {
    if (!Array.isArray(replaced)) return
    if (this.#replacedRemote.size > 10_000) this.#replacedRemote.clear()
    for (const cid of replaced) if (typeof cid === 'string') this.#replacedRemote.add(cid)
  }

  /** The remote state being merged now: a local head equal to it is on the backend already. */
  #arriving: HeadState | undefined
  #mergeChain: Promise<void> = Promise.resolve()
  #waiting: MetaEntry[] = []

  /**
   * Merges entries one batch at a time. Entries that arrive while a merge runs (a fast writer's pushes) wait
   * and are merged together: the newest first, so the older ones it contains become cheap no-op merges.
   */
  #exclusiveMerge(entries: MetaEntry[]): Promise<void> {
    this.#waiting.push(...entries)
    const run = this.#mergeChain.then(() => this.#mergeEntries(this.#waiting.splice(0)))
    this.#mergeChain = run.catch(() => {})
    return run
  }

  async #mergeEntries(entries: MetaEntry[]): Promise<void> {
    const replica = this.#replica!
    // Opened side by side: each opening is a few crypto calls, and a burst of entries opened one after the
    // other waits out every one of them in turn (behind whatever else the process is doing).
    // An entry the backend has replaced is contained in its replacer, which is merged instead: merging the
    // older one after it could look concurrent (its events unknown here) and write a needless merge event.
    const all = [...new Map(entries.map((entry) => [entry.cid, entry])).values()]
    const unique = all.filter((entry) => !this.#replacedRemote.has(entry.cid))
    // The replaced ones still tell where the events between the local head and their replacer are (see
    // #loadHeadFiles): opened too, as hints only (a bad one is not reported: it is not current).
    const hints = this.#openHints(all.filter((entry) => this.#replacedRemote.has(entry.cid)))
    const outcomes = await Promise.all(
      unique.map(async (entry) => {
        const known = this.#opened.get(entry.cid)
        if (known !== undefined) return { entry, head: known }
        try {
          return { entry, head: await openHead(replica.store.key, entry, this.#db) }
        } catch (error) {
          return { entry, head: null, error }
        }
      }),
    )
    const opened: { entry: MetaEntry; head: HeadState }[] = []
    for (const { entry, head, error } of outcomes) {
      if (error !== undefined) {
        // A newer key that replaced this device's sealed it: nothing this device writes will be accepted.
        if ((error as Error)?.name === 'KeyRevokedError') throw error
        // Sealed with a key this device rotated away: refused, yet it shows this device's key belongs here.
        if ((error as { supersededKey?: unknown })?.supersededKey === true) this.#refusedOwnKey.add(entry.cid)
        // Opening is local work (hash, decrypt, decode): a failure means the entry itself is bad. A stranger
        // writing with another key, or garbage under a valid name, must not disturb this device: the entry
        // is never applied, and reported once as a warning while everything else syncs on.
        this.#opened.set(entry.cid, null)
        this.#skip(entry.cid, error)
        continue
      }
      this.#opened.set(entry.cid, head)
      if (head) opened.push({ entry, head })
    }
    opened.sort((a, b) => b.head.height - a.head.height)
    const local = replica.head()
    // A replaced entry no higher than the local head holds no event between it and the newest.
    const between = (await hints).filter(({ head }) => head.height > (local?.height ?? -1))
    const unmerged = [...opened, ...between].filter(({ entry, head }) => !this.#merged.has(entry.cid) && !sameClock(head, local))
    await this.#loadHeadFiles(unmerged.map(({ head }) => head))
    for (const { entry, head } of opened) {
      // An entry merged before is contained in the local head already: merging it again on every pull would
      // only cost work (and, where ancestry cannot be told cheaply, a needless merge event).
      // Nor is there anything to merge from an entry with the local clock (this device's own, echoed back).
      if (!this.#merged.has(entry.cid) && !sameClock(head, replica.head())) {
        this.#arriving = head
        try {
          await replica.merge(head)
        } catch (error) {
          // An entry that contradicts its own events (a root they do not give: forged, or a writer's bug) is
          // refused like an unreadable one, and the backend and every other entry sync on.
          if (!(error instanceof InconsistentHeadError)) throw error
          this.#opened.set(entry.cid, null)
          this.#refusedOwnKey.add(entry.cid)
          this.#skip(entry.cid, error)
          continue
        } finally {
          this.#arriving = undefined
        }
      }
      this.#merged.add(entry.cid)
      const local = replica.head()
      if (local && sameClock(local, head)) this.#remoteCovers = true
    }
  }

  /** Opens entries the backend replaced, for their head files only; one that does not open is left out. */
  async #openHints(entries: MetaEntry[]): Promise<{ entry: MetaEntry; head: HeadState }[]> {
    const key = this.#replica!.store.key
    const opened = await Promise.all(
      entries.map(async (entry) => {
        const known = this.#opened.get(entry.cid)
        if (known !== undefined) return known && { entry, head: known }
        const head = await openHead(key, entry, this.#db).catch(() => null)
        if (head) this.#opened.set(entry.cid, head)
        return head && { entry, head }
      }),
    )
    return opened.filter((hint) => hint !== null)
  }

  /**
   * Loads the head files of the entries about to be merged, side by side, and of those the backend replaced
   * (the events between the local head and the newest). A writer's entries that arrive together (this device
   * was busy merging) are merged newest first, and the older ones are then contained in it; but the local
   * clock can only tell so through events it holds. Were the older entries' events never loaded (a newest
   * delta derives its tree from the last checkpoint, not through them), the newest would look concurrent
   * with the local head, and the merge would write a merge event
   * that this device must push and every other device must merge back, batch after batch. Best effort: a
   * failure here costs at most that merge event (the merge itself loads what it needs and reports failures).
   */
  async #loadHeadFiles(heads: HeadState[]): Promise<void> {
    const store = this.#replica!.store
    const files = new Set<string>()
    for (const head of heads) {
      head.heads.forEach((cid, i) => store.locate(cid, head.files[i]!))
      for (const file of head.files) files.add(file)
    }
    await Promise.all([...files].map((file) => store.loadFile(file).catch(() => {})))
  }

  #skip(cid: string, error: unknown): void {
    if (this.#skipped.has(cid)) return
    this.#skipped.add(cid)
    const cause = error instanceof Error ? error : new Error(String(error))
    const warning: SyncWarning = {
      kind: cause.name === 'KeyMismatchError' ? 'foreign-entry' : 'unreadable-entry',
      cid,
      error: cause,
    }
    this.#emit('warning', warning)
  }

  /**
   * Looks at the backend, numbered in order: a listing when it is asked for, a save when it has landed (a
   * listing asked for before then may lack its entry), a push (subscribe) when it arrives; and the number of
   * the newest one applied. refresh() pulls beside the loop's pull or push, and a pushing backend delivers
   * while a pull is on its way: a listing may be answered after a newer look was applied, and is then older
   * than what this device knows. Taken as current, it made an entry just saved look gone (a needless save of
   * the same clock), a branch just saved to look emptied (every file uploaded again), and a device that only
   * follows another save the clock pushed to it back.
   */
  #looks = 0
  #newestLookApplied = 0

  /** The branch's entries (a bounded call; failures reported as the load's), with the look's number. */
  async #loadBranch(): Promise<{ entries: MetaEntry[]; look: number }> {
    const look = ++this.#looks
    try {
      return { entries: await this.#call('load', 0, (call) => this.#connector.load(this.#db, this.#branch, call)), look }
    } catch (error) {
      throw this.#fail('load', error)
    }
  }

  /** Whether the look numbered `look` is newer than every one applied (it is applied then). */
  #applyLook(look: number): boolean {
    if (look < this.#newestLookApplied) return false
    this.#newestLookApplied = look
    return true
  }

  async #pull({ first = false } = {}): Promise<void> {
    const { entries, look } = await this.#loadBranch()
    if (!this.#applyLook(look)) {
      // An older view than one applied: its entries are merged (a CRDT merge of an older state is harmless) and
      // the first pull's key check holds for them, but what it lacks says nothing about the backend now.
      if (entries.length > 0) this.#backendHadEntries = true
      await this.#exclusiveMerge(entries)
      if (first) this.#checkKey(entries)
      this.#emit('change')
      return
    }
    this.#remoteCovers = false
    if (entries.length > 0) this.#backendHadEntries = true
    else if (this.#backendHadEntries) this.#backendEmptied()
    const current = new Set(entries.map((entry) => entry.cid))
    for (const cid of current) this.#replacedRemote.delete(cid)
    for (const cid of this.#merged) if (!current.has(cid)) this.#merged.delete(cid)
    // Entries the backend no longer holds will not come back: a long live session must not keep them all.
    for (const cid of this.#opened.keys()) if (!current.has(cid)) this.#opened.delete(cid)
    await this.#exclusiveMerge(entries)
    if (first) this.#checkKey(entries)
    const local = this.#replica!.head()
    // The backend holds the local state when one of its current entries has the local clock (the same root
    // under other heads is not enough: flush() promises that this clock can be read from the backend).
    if (!local || entries.some((e) => sameClock(local, this.#opened.get(e.cid)))) this.#remoteCovers = true
    if (!this.#remoteCovers) this.#wantPush = true
    this.#emit('change')
  }

  /** Set once a pull found entries or a save succeeded: the backend held this database's meta. */
  #backendHadEntries = false

  /**
   * The backend holds no entry where it held some: every save adds its entry before it removes those it
   * replaces, so no device's save empties a branch. The store was emptied (an operator, a recreated bucket, a
   * restored backup): the files this device uploaded are likely gone too, and a save naming them would let
   * flush() promise a clock no device can read. Also called when a push's canary file is gone (see #push).
   */
  #backendEmptied(): void {
    this.#backendHadEntries = false
    this.#distrustHeld()
    this.#saveRecordSoon()
  }

  /**
   * A device whose key opens none of the backend's entries, while some are sealed with another key, holds
   * the wrong key for this backend: its first pull fails with KeyMismatchError instead of reporting
   * 'synced' (or pushing an entry no other device can read). Checked on the first pull only: once synced,
   * a stranger's entry is a warning, never an error.
   */
  #checkKey(entries: MetaEntry[]): void {
    if (!entries.length) return
    const tried = entries.filter((entry) => this.#opened.has(entry.cid))
    if (tried.length < entries.length) return
    if (tried.some((entry) => this.#opened.get(entry.cid) || this.#refusedOwnKey.has(entry.cid))) return
    const foreign = tried.some((entry) => this.#skipped.has(entry.cid))
    if (!foreign) return
    throw this.#fail(
      'load',
      new KeyMismatchError(this.#db, `none of the ${entries.length} meta entries at the backend opens with this key`),
    )
  }

  /**
   * `afterPull`: the branch was read just before (the loop pulled first). Otherwise the last look at the
   * backend may be long ago, and the store may have been emptied since: side by side with the uploads, the
   * push asks `has` whether the backend still holds a file it was believed to hold (a canary), and, when it
   * is gone, checks every held file and uploads again what was lost before it saves (see #backendEmptied).
   * Not `load`: a connector may take a load as "merged" (connect.raw's one blob may then be overwritten), and
   * merging before a push would change what a device with polling off sees. Not over an open persistent
   * connection (see #connectionOpen): a live push there costs no extra request. Without `has`, a wipe is
   * found by the next pull (connect.raw's save notices its blob vanished and fails, so one comes at once).
   */
  async #push({ afterPull = false } = {}): Promise<void> {
    const replica = this.#replica!
    const head = replica.head()
    if (!head) return
    // Nothing to send when an entry there already has this state (a device that only pulled, a reader),
    // unless the backend lost files it needs: those go up again, and the entry naming them stays as it is.
    const covered = this.#remoteCovers
    if (covered && !this.#repairPending) return
    // The entries this save may replace are taken together with the head: an entry merged while the files
    // upload is not contained in `head`, so removing it would drop a write from the backend.
    const mergedIntoHead = [...this.#merged]
    const canary = afterPull || !this.#backendHadEntries || this.#connectionOpen || !this.#connector.has ? undefined : this.#outbox.anyHeld()
    const check = canary === undefined ? undefined : this.#call('check', 0, (call) => this.#connector.has!(this.#db, canary, call))
    check?.catch(() => {})
    if (this.#pushAfter) await this.#pushAfter
    await this.#uploadClosureSettled(head.files)
    if (check && !(await check) && this.#backendHadEntries) {
      this.#backendEmptied()
      if (this.#pushAfter) await this.#pushAfter
      await this.#uploadClosureSettled(head.files)
    }
    if (this.#closed) return
    this.#saveRecordSoon()
    if (covered && this.#remoteCovers) return
    // Every file the head needs is held by the backend (each upload succeeded), so the entry may name them.
    const entry = await sealHead(replica.store.key, head)
    const replaces = mergedIntoHead.filter((cid) => cid !== entry.cid)
    // Known before the save: a pushing backend echoes the entry back at once, and opening it again would
    // cost this device a decryption per push.
    this.#opened.set(entry.cid, head)
    try {
      await this.#call('save', entry.bytes.length, (call) => this.#connector.save(this.#db, this.#branch, entry, replaces, call))
    } catch (error) {
      throw this.#fail('save', error)
    }
    this.#newestLookApplied = ++this.#looks
    for (const cid of replaces) this.#merged.delete(cid)
    this.#merged.add(entry.cid)
    this.#backendHadEntries = true
    this.#remoteCovers = replica.head() === head
  }

  /**
   * Uploads every file the head needs that this backend may lack. Walks file headers from the head files,
   * stopping only at files known complete (their whole closure is held), then uploads every walked file not
   * yet held. A file counts as held only after its own upload succeeded; the walked files become complete
   * only when every upload of the walk succeeded, so a push that fails halfway never hides a missing file
   * from the next one. Files come from local storage or, when this device never downloaded them, from
   * another connected source. False when held files were forgotten during the walk (nothing marked complete).
   */
  async #uploadClosure(start: string[]): Promise<boolean> {
    const replica = this.#replica!
    const forgets = this.#forgets
    const { walked, missing } = await this.#walkUnheld(start)
    this.#progress.upload = { files: missing.length, done: 0, bytes: 0 }
    if (missing.length) this.#emitProgress()
    await eachLimited(missing, UPLOAD_CONCURRENCY, async (file) => {
      if (this.#closed) throw new Error('the sync was closed')
      const bytes = await replica.store.fileBytes(file)
      await this.#retrying('upload', () => this.#call('upload', bytes.length, (call) => this.#connector.upload(this.#db, file, bytes, call)))
      this.#outbox.markHeld(file)
      this.#progress.upload.done++
      this.#progress.upload.bytes += bytes.length
      this.#emitProgress()
    })
    // Held files forgotten meanwhile (the backend lost them) may be in this walk's closure, unwalked: a walk
    // that began before then proves nothing complete. Marked anyway, the new head file hid the lost file from
    // the repairing push, and flush() resolved with a clock the backend could not serve.
    if (this.#forgets !== forgets) return false
    for (const file of walked) this.#outbox.markComplete(file)
    this.#repairPending = false
    return true
  }

  /**
   * Uploads the closure again while files were forgotten during the walk (the check found them lost): they
   * may be in it, and the entry about to be saved names it.
   */
  async #uploadClosureSettled(start: string[]): Promise<void> {
    while (!(await this.#uploadClosure(start)) && !this.#closed);
  }

  /**
   * The files the head needs that this backend may lack: walks file headers from `start`, stopping only at
   * files known complete. `walked` are all files visited, `missing` those not held yet.
   */
  async #walkUnheld(start: string[]): Promise<{ walked: string[]; missing: string[] }> {
    const replica = this.#replica!
    const walked: string[] = []
    const seen = new Set<string>()
    let frontier = start.filter((file) => !this.#outbox.isComplete(file))
    for (const file of frontier) seen.add(file)
    while (frontier.length && !this.#closed) {
      const next: string[] = []
      for (let i = 0; i < frontier.length; i += WALK_BATCH) {
        const batch = frontier.slice(i, i + WALK_BATCH)
        const references = await Promise.all(batch.map((file) => replica.store.fileReferences(file)))
        for (const list of references) {
          for (const file of list) {
            if (this.#outbox.isComplete(file) || seen.has(file)) continue
            seen.add(file)
            next.push(file)
          }
        }
      }
      walked.push(...frontier)
      frontier = next
    }
    const missing = walked.filter((file) => !this.#outbox.isHeld(file))
    return { walked, missing }
  }

  /**
   * One connector call, bounded: a call that never settles (a server that accepts and never answers) fails
   * after callTimeout (default half of flushTimeout, so that a flush outlives one hung call and its retry),
   * plus time for the bytes it carries on a slow link, as a transient CallTimeoutError; the caller retries it
   * like a network error. close() ends every call still waiting. Each timeout in a row of one operation doubles its
   * allowance (up to 8 times): a call that is slow rather than hung (a listing of thousands of entries on a
   * slow link) gets through on a later try instead of timing out for good. A call given up (timed out, or
   * ended by close()) has its signal aborted, so a connector that honours it releases the request.
   */
  #call<T>(op: string, bytes: number, call: (options: CallOptions) => Promise<T>): Promise<T> {
    const abandon = new AbortController()
    let promise: Promise<T>
    try {
      promise = Promise.resolve(call({ signal: abandon.signal }))
    } catch (error) {
      return Promise.reject(error)
    }
    const streak = this.#timeoutStreak.get(op) ?? 0
    const ms = callAllowance(this.#options.callTimeout * 2 ** Math.min(streak, 3), bytes)
    const bounded = this.#scheduler.bound(
      promise,
      ms,
      () => {
        this.#timeoutStreak.set(op, streak + 1)
        const timeout = new CallTimeoutError(op, ms)
        abandon.abort(timeout)
        return timeout
      },
      () => {
        const closed = this.#closedError(op)
        abandon.abort(closed)
        return closed
      },
    )
    void bounded.then(() => this.#timeoutStreak.delete(op), () => {})
    return bounded
  }

  /** Timeouts in a row, per connector operation (see #call). */
  readonly #timeoutStreak = new Map<string, number>()

  /** Runs a single backend call, retrying transient failures a few times in place (bounded, with backoff). */
  async #retrying<T>(op: string, call: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call()
      } catch (error) {
        const failure = error instanceof ConnectorError ? error : new ConnectorError(this.#connector.name, op, error)
        if (failure.permanent || attempt >= UPLOAD_RETRIES || this.#closed) throw this.#fail(op, failure)
        // A blip retried at once is not news; a call that hung for seconds is (status 'offline' meanwhile).
        if (failure.cause instanceof CallTimeoutError) this.#fail(op, failure)
        await this.#scheduler.delay(this.#scheduler.backoff(attempt, 20))
      }
    }
  }

  #recordTimer: ReturnType<typeof setTimeout> | undefined

  /**
   * What this backend holds is kept on disk so a restart does not upload everything again. It only saves
   * work (uploads are idempotent and a push re-walks what is missing), so it is written at most once a second
   * rather than on every push, and on close.
   */
  #saveRecordSoon(): void {
    if (this.#recordTimer || this.#closed) return
    this.#recordTimer = setTimeout(() => {
      this.#recordTimer = undefined
      void this.#saveRecord()
    }, RECORD_INTERVAL)
    // Never keeps a process alive: losing this write only costs a re-walk after a restart.
    ;(this.#recordTimer as { unref?: () => void }).unref?.()
  }

  async #saveRecord(): Promise<void> {
    if (!this.#recordName) return
    await this.#replica?.storage
      .writeRecord(this.#recordName, this.#outbox.encode())
      .catch((error) => this.#fail('record what the backend holds', error))
  }

  /**
   * Files this backend answered it does not hold (its download resolved `undefined`), while no later download
   * served them. Not an error where it is answered: another connected source may hold the file (a database
   * synced to two backends), and a read only fails when none does. A read failing on one of them is then the
   * backend's word, and permanent (see #fail and MissingFileError).
   */
  readonly #answeredAbsent = new Set<string>()

  #noteAnsweredAbsent(cid: string): void {
    // Bounded so a long lazy session cannot grow it forever; forgetting one costs only a retried failure.
    if (this.#answeredAbsent.size > 10_000) this.#answeredAbsent.clear()
    this.#answeredAbsent.add(cid)
  }

  /**
   * A read that failed because a file is missing everywhere, after this backend answered that it lacks it:
   * retrying cannot succeed (it retried forever before, `ready` never settling). Named as the download that
   * met it, whatever operation (the first pull, a poll, a pushed entry's merge, refresh()) got the failure,
   * so meeting it again is the same news (see #fail).
   */
  #missingFileFailure(error: unknown): ConnectorError | undefined {
    const cid = fileAnsweredAbsent(error, this.#answeredAbsent)
    if (cid === undefined) return undefined
    const missing = new MissingFileError(cid, this.#connector.name, this.#connector.id, { cause: error })
    return new ConnectorError(this.#connector.name, 'download', missing)
  }

  #fail(op: string, error: unknown): ConnectorError {
    const wrapped =
      this.#missingFileFailure(error) ??
      (error instanceof ConnectorError ? error : new ConnectorError(this.#connector.name, op, error))
    // A closed sync reports nothing more: what failed after close() (a call it ended) is not the backend's state.
    if (this.#lastError !== wrapped && !this.#closed) {
      // A permanent failure met again by the one retry that flush() or refresh() makes (the user may have fixed
      // it; here not) is the same news: reported once, whether the automatic push or the flush met it first.
      const again = wrapped.permanent && this.#status === 'error' && this.#lastError?.permanent && this.#lastError.message === wrapped.message
      this.#lastError = wrapped
      this.#setStatus(isTransient(wrapped) ? 'offline' : 'error')
      if (!again) this.#emit('error', wrapped)
    }
    return wrapped
  }

  #setStatus(status: SyncStatus): void {
    if (this.#status === status || this.#closed) return
    this.#status = status
    this.#emit('status', status)
  }

  #emit<E extends keyof SyncEvents>(event: E, ...args: Parameters<SyncEvents[E]>): void {
    this.#events.emit(event, ...args)
  }

  on<E extends keyof SyncEvents>(event: E, listener: SyncEvents[E]): () => void {
    return this.#events.on(event, listener)
  }

  #refusePaused(op: string): void {
    if (this.#paused) throw this.#pausedError(op)
  }

  #pausedError(op: string): ConnectorError {
    return new ConnectorError(this.#connector.name, op, new Error('sync is paused: call resume() first'))
  }

  async refresh(): Promise<void> {
    this.#refusePaused('refresh')
    const deadline = Date.now() + this.#options.flushTimeout
    // Bounded like the pull below: with the backend down from the start, the first pull never comes.
    await this.#raceDeadline(this.ready, deadline, 'refresh')
    if (this.#closed) throw this.#closedError('refresh')
    this.#resume()
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#pull()
        break
      } catch (error) {
        const failure = this.#fail('refresh', error)
        if (failure.permanent) this.#halted = failure
        if (failure.permanent || this.#closed || Date.now() >= deadline) throw failure
        await this.#scheduler.delay(Math.min(this.#scheduler.backoff(attempt, 100), Math.max(0, deadline - Date.now())))
      }
    }
    // Past the permanent failure that halted sync (a lost file uploaded again): the status said 'error' until
    // a push happened to run, and a device with nothing to push never ran one.
    if (this.#status === 'error') this.#setStatus(this.#remoteCovers && !this.#wantPush && !this.#repairPending ? 'synced' : 'pending')
    this.#kick()
  }

  /** An explicit flush or refresh tries again after a permanent failure (the user may have fixed it). */
  #resume(): void {
    if (!this.#halted) return
    this.#halted = undefined
    this.#attempt = 0
  }

  async flush(): Promise<Clock> {
    this.#refusePaused('flush')
    const deadline = Date.now() + this.#options.flushTimeout
    await this.#raceDeadline(this.ready, deadline)
    const replica = this.#replica!
    this.#resume()
    if (this.#sessionAudit) await this.#raceDeadline(this.#sessionAudit, deadline)
    for (;;) {
      if (this.#closed) throw this.#closedError('flush')
      // Raced too: a pause() while the write queue drains must reject this flush now, not once a call in
      // flight ends (the pause listener below would be registered after the pause came).
      await this.#raceDeadline(replica.idle(), deadline)
      this.#wantPush = true
      this.#wantPull = true
      this.#scheduler.wake()
      this.#kick()
      await this.#raceDeadline(this.#settle(), deadline)
      if (this.#halted) throw this.#halted
      // Paused while this flush waited: nothing will push until resume(); say so now, not at flushTimeout.
      this.#refusePaused('flush')
      const head = replica.head()
      if (!head || this.#remoteCovers) {
        // Confirm against the backend: with a one-blob meta another writer may have replaced our entry.
        this.#wantPull = true
        this.#kick()
        await this.#raceDeadline(this.#settle(), deadline)
        if (this.#halted) throw this.#halted
        const after = replica.head()
        if (!after) return []
        if (this.#remoteCovers && after === head && !this.#repairPending) return after.heads.map(String)
      }
      await this.#raceDeadline(this.#scheduler.delay(50), deadline)
    }
  }

  /**
   * Waits until a loop iteration that started after this call has finished (it saw every want set before the
   * call), or the loop stopped. Not until the loop stops: with a short poll interval and a slow backend, polls
   * keep the loop busy for as long as they come, and flush() must not wait for a quiet moment that never comes.
   */
  async #settle(): Promise<void> {
    const target = this.#iterationsStarted + 1
    while (this.#running && this.#iterationsFinished < target) {
      const running = this.#running
      await Promise.race([running, new Promise<void>((resolve) => this.#iterationWaiters.push(resolve))])
    }
  }

  /** `promise`, unless the deadline passes or pause() comes first (flush() rejects then, saying why). */
  async #raceDeadline<T>(promise: Promise<T>, deadline: number, op: 'flush' | 'refresh' = 'flush'): Promise<T> {
    // A pause that came while the caller was between two waits (its last one had settled, its code had not
    // run yet) has no listener to tell: it is seen here, or the flush would wait for the call in flight.
    if (this.#paused) {
      promise.catch(() => {})
      throw this.#pausedError(op)
    }
    const remaining = deadline - Date.now()
    let onPause: (() => void) | undefined
    const paused = new Promise<never>((_, reject) => {
      onPause = () => reject(this.#pausedError(op))
      this.#onPause.add(onPause)
    })
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            this.#lastError ??
              new ConnectorError(
                this.#connector.name,
                op,
                new Error(`${op === 'flush' ? 'not durable' : 'no pull'} after ${this.#options.flushTimeout} ms`),
              ),
          ),
        Math.max(0, remaining),
      )
    })
    try {
      return await Promise.race([promise, timeout, paused])
    } finally {
      clearTimeout(timer)
      this.#onPause.delete(onPause!)
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#status = 'offline'
    this.#onClosed?.()
    this.#scheduler.close()
    for (const cleanup of this.#cleanups.splice(0)) cleanup()
    if (this.#recordTimer) clearTimeout(this.#recordTimer)
    if (this.#replica) await this.#saveRecord()
    const others = (syncsUsing.get(this.#connector) ?? 1) - 1
    if (others > 0) return void syncsUsing.set(this.#connector, others)
    syncsUsing.delete(this.#connector)
    // Bounded like every connector call: a close that never settles (a socket that never says goodbye) must
    // not keep the database from closing.
    const closing = this.#connector.close?.().catch(() => {})
    if (!closing) return
    let timer: ReturnType<typeof setTimeout> | undefined
    const allowance = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, callAllowance(this.#options.callTimeout))
      ;(timer as { unref?: () => void }).unref?.()
    })
    await Promise.race([closing, allowance])
    clearTimeout(timer)
  }
}

/** The IntegrityError in an error's cause chain, if any. */
function integrityFailure(error: unknown): Error | undefined {
  for (let at = error, depth = 0; at instanceof Error && depth < 8; at = at.cause, depth++) {
    if (at.name === 'IntegrityError') return at
  }
  return undefined
}

/** Network failures, 5xx and timeouts may pass; auth, missing buckets, bad bytes or a wrong key will not. */
function isTransient(error: ConnectorError): boolean {
  return !error.permanent
}

/**
 * Runs `task` over `items`, at most `limit` at a time. On the first failure no new task starts; the running
 * ones finish, then the first error is thrown (so nothing is marked done behind a failure's back).
 */
async function eachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  let failure: { error: unknown } | undefined
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++]!
      try {
        await task(item)
      } catch (error) {
        failure ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  if (failure) throw failure.error
}
