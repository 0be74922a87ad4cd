import { database, parseShareLink, type Database, type Sync, type SyncStatus } from '@proj/core'
import { connect } from '@proj/connect-partykit'
import { listRenderer } from './list.js'
import { messages } from './messages.js'
import { deleteLocalCopy, linkTo, moveToNewList, newName } from './lists.js'
import { showProblem, type ProblemAction, type ProblemDetail } from './problem.js'
import { forgetList, recentLists, rememberList, showRecent } from './recent.js'
import { showShare } from './share.js'
import { byCreated, viewOf, type Todo } from './todo.js'

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T
const ui = {
  status: $<HTMLSpanElement>('status'),
  app: $<HTMLElement>('app'),
  form: $<HTMLFormElement>('add'),
  title: $<HTMLInputElement>('new-title'),
  list: $<HTMLUListElement>('todos'),
  empty: $<HTMLParagraphElement>('empty'),
  footer: $<HTMLElement>('footer'),
  count: $<HTMLSpanElement>('count'),
  clearDone: $<HTMLButtonElement>('clear-done'),
  toggleAll: $<HTMLInputElement>('toggle-all'),
  filters: $<HTMLElement>('filters'),
  syncError: $<HTMLElement>('sync-error'),
  syncErrorText: $<HTMLElement>('sync-error-text'),
  retry: $<HTMLButtonElement>('retry'),
  warnings: $<HTMLElement>('warnings'),
  share: {
    link: $<HTMLTextAreaElement>('share-link'),
    copy: $<HTMLButtonElement>('copy'),
    copyHint: $<HTMLElement>('copy-hint'),
    qr: $<HTMLElement>('share-qr'),
  },
  problem: {
    section: $<HTMLElement>('problem'),
    title: $<HTMLElement>('problem-title'),
    detail: $<HTMLElement>('problem-detail'),
    actions: $<HTMLElement>('problem-actions'),
    app: $<HTMLElement>('app'),
  },
  messages: {
    error: $<HTMLParagraphElement>('error'),
    deleted: {
      notice: $<HTMLElement>('deleted-notice'),
      text: $<HTMLElement>('deleted-notice-text'),
      restore: $<HTMLButtonElement>('deleted-restore'),
      dismiss: $<HTMLButtonElement>('deleted-dismiss'),
    },
  },
  recent: $<HTMLElement>('recent'),
  recentLists: $<HTMLUListElement>('recent-lists'),
}

const STATUS_TEXT: Record<SyncStatus, string> = {
  connecting: 'Connecting…',
  synced: 'Synced',
  pending: 'Saving…',
  offline: 'Offline · saved on this device',
  error: 'Sync error',
}

const NEW_LIST: ProblemAction = { label: 'Start a new list', href: '/' }

/** The badge for a state that is not sync's own: the list never opened. */
function showStuck(text: string): void {
  ui.status.dataset.status = 'error'
  ui.status.textContent = text
  ui.status.title = ''
}

const say = messages(ui.messages)
const showError = (error: unknown) => say.error(error)

/** True when `error`, or an error in its cause chain, is core's KeyMismatchError. */
function isKeyMismatch(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    if (e.name === 'KeyMismatchError') return true
  }
  return false
}

/**
 * Browsers hand out WebCrypto, which keeps the list encrypted, only to secure contexts: https, and this
 * computer's own addresses. A phone that opens the demo by the computer's LAN address (http://192.168.…) gets
 * none, so say how to get there instead of failing on the first encryption.
 */
function insecure(): void {
  showStuck('Not secure')
  const local = new URL(location.href)
  local.hostname = '127.0.0.1'
  showProblem(
    ui.problem,
    'This address cannot keep the list encrypted',
    [
      `Browsers give pages the encryption this list needs only on https:// addresses and on the computer's own (localhost, 127.0.0.1): ${location.host} over http is neither.`,
      'Open the demo through https (a deployed party, or an https tunnel to this server), or on the computer that runs it.',
    ],
    [{ label: 'Open it on this computer (127.0.0.1)', href: local.href }],
  )
}

/** The link cannot name a list: say what is wrong with it, and offer the lists this device has. */
function brokenLink(name: string | undefined, reason: string): void {
  showStuck('Broken link')
  const mine = name === undefined ? undefined : recentLists().find((item) => item.db === name)
  showProblem(
    ui.problem,
    'This link is broken',
    [
      `It cannot open a list: ${reason}.`,
      'Ask for the link again, or copy all of it: a share link ends with #key= and a long key.',
    ],
    [...(mine ? [{ label: `Open ${name} with this device's key`, href: mine.link }] : []), NEW_LIST],
  )
  showRecent(ui.recent, ui.recentLists, undefined)
}

/**
 * The sync server holds the list sealed with another key: the link's key is wrong. Nothing of the list is
 * shown, and this device does not keep the wrong key (unless todos were written with it before the server could
 * say so: those are listed, with a way to move them to a new list), so the right link works here afterwards.
 */
async function wrongKey(db: Database, sync: Sync, name: string, key: string): Promise<void> {
  showStuck('Wrong key')
  forgetList(name)
  const { rows } = await db.allDocs().catch(() => ({ rows: [] }))
  await sync.close()
  await db.close()
  const detail: ProblemDetail[] = [
    'The sync server holds this list sealed with another key, so nothing of it can be read or changed with this link.',
    'The link was probably mistyped or cut off: ask for it again, or copy all of it (the key after #key= is long).',
  ]
  const actions: ProblemAction[] = [NEW_LIST]
  if (rows.length > 0) {
    const todos = rows.map((row) => viewOf(row.value)).sort(byCreated)
    detail.push(
      `The ${todos.length === 1 ? 'todo' : `${todos.length} todos`} written here with this key ${todos.length === 1 ? 'is' : 'are'} kept on this device:`,
      { items: todos.map((todo) => todo.title || '(no title)') },
    )
    actions.unshift({
      label: todos.length === 1 ? 'Move it to a new list' : 'Move them to a new list',
      run: async () => {
        try {
          location.assign(await moveToNewList(name, key))
        } catch (error) {
          showError(error)
        }
      },
    })
  } else {
    try {
      await deleteLocalCopy(name)
      detail.push('This device kept nothing of it, so the right link will work here.')
    } catch (error) {
      detail.push(`This device's copy could not be removed yet: ${error instanceof Error ? error.message : String(error)}.`)
    }
  }
  showProblem(ui.problem, `The key in this link does not open list ${name}`, detail, actions)
  showRecent(ui.recent, ui.recentLists, name)
}

/**
 * This device already keeps the list with another key than the link's. Offer this device's own copy, or
 * to forget it and take the link's key.
 */
async function localKeyMismatch(db: Database, name: string): Promise<void> {
  showStuck('Wrong key')
  await db.close()
  let own: { link: string; count: number } | undefined
  let ownProblem: string | undefined
  const mine = database(name)
  try {
    own = { link: linkTo(name, await mine.exportKey()), count: (await mine.allDocs()).rows.length }
  } catch (error) {
    // this device's copy does not open either: only forgetting it helps
    ownProblem = `This device's copy does not open either: ${error instanceof Error ? error.message : String(error)}`
  } finally {
    await mine.close().catch(() => {})
  }
  const forget: ProblemAction = {
    label: "Forget this device's copy, use the link's key",
    run: async () => {
      const what = own ? ` (${own.count} ${own.count === 1 ? 'todo' : 'todos'})` : ''
      if (!confirm(`Delete this device's copy of ${name}${what}? Todos that never reached the sync server are lost.`)) return
      try {
        await deleteLocalCopy(name)
        forgetList(name)
        location.reload()
      } catch (error) {
        showError(error)
      }
    },
  }
  showProblem(
    ui.problem,
    `This device keeps list ${name} with another key`,
    [
      'The key in this link is not the one this device opened the list with: either the link is wrong, or this device first opened the list through a wrong link.',
      ...(ownProblem ? [ownProblem] : []),
    ],
    [
      ...(own ? [{ label: `Open this device's copy (${own.count} ${own.count === 1 ? 'todo' : 'todos'})`, href: own.link }] : []),
      forget,
      NEW_LIST,
    ],
  )
  showRecent(ui.recent, ui.recentLists, undefined)
}

/**
 * The browser says it has no network (the 'offline' event) and sync has not yet answered whether it can reach
 * the server. A dropped network leaves the websocket looking open until the transport gives up, so sync
 * itself would find out at its next slow poll (~10 s), the badge saying Synced meanwhile; the event makes it
 * check at once (sync.refresh()), and until that check settles the badge trusts the browser.
 */
let browserOffline = false

function showSync(sync: Sync): void {
  const status: SyncStatus = browserOffline && sync.status !== 'error' ? 'offline' : sync.status
  ui.status.dataset.status = status
  ui.status.textContent = STATUS_TEXT[status]
  ui.status.title = status === 'error' && sync.lastError ? sync.lastError.message : ''
  // Spelled out on the page too: a phone cannot hover.
  ui.syncError.hidden = status !== 'error'
  ui.syncErrorText.textContent = `Sync stopped: ${sync.lastError?.message ?? 'unknown error'}. Changes made here are kept on this device.`
}

/** Entries in the room that this key cannot open: someone else writes there. The list itself is unaffected. */
function showWarnings(foreign: number, unreadable: number): void {
  const parts: string[] = []
  if (foreign) parts.push(`${foreign} ${foreign === 1 ? 'entry' : 'entries'} sealed with another key (someone is writing to this list's room with a different key)`)
  if (unreadable) parts.push(`${unreadable} damaged ${unreadable === 1 ? 'entry' : 'entries'}`)
  ui.warnings.hidden = parts.length === 0
  ui.warnings.textContent = `Skipped ${parts.join(' and ')}. This list is not affected.`
}

/** Shows and syncs an opened list. */
async function run(db: Database, link: string, key: string): Promise<void> {
  // The first read opens the database: a key that this device keeps differently stops here.
  try {
    await db.clock()
  } catch (error) {
    if (isKeyMismatch(error)) return localKeyMismatch(db, db.name)
    showStuck('Not opened')
    showProblem(
      ui.problem,
      `This device's copy of list ${db.name} cannot be opened`,
      [error instanceof Error ? error.message : String(error)],
      [NEW_LIST],
    )
    showRecent(ui.recent, ui.recentLists, db.name)
    return
  }
  rememberList(db.name, link)
  showShare(ui.share, link)
  showRecent(ui.recent, ui.recentLists, db.name)

  const { render, retryImages } = listRenderer(db, ui, say)
  const unsubscribe = db.subscribe(render)
  render()

  // The page is served by the same PartyKit server that hosts the party.
  const sync = connect.partykit(db, location.origin)
  showSync(sync)
  sync.on('status', () => {
    showSync(sync)
    if (sync.status === 'synced') retryImages()
  })
  sync.on('error', () => showSync(sync))
  // The network as the browser sees it: a check by sync at once, instead of at its next poll or backoff. The
  // server may still answer (it runs on this computer, or the browser is wrong): the check settles that.
  const check = () => {
    const settled = () => {
      browserOffline = false
      showSync(sync)
    }
    sync.refresh().then(settled, settled)
  }
  window.addEventListener('offline', () => {
    browserOffline = true
    showSync(sync)
    check()
  })
  window.addEventListener('online', () => {
    browserOffline = false
    showSync(sync)
    check()
  })
  let foreign = 0
  let unreadable = 0
  sync.on('warning', (warning) => {
    if (warning.kind === 'foreign-entry') foreign++
    else unreadable++
    showWarnings(foreign, unreadable)
  })
  sync.ready.then(() => render(), (error) => {
    if (!isKeyMismatch(error)) return showSync(sync)
    unsubscribe()
    return wrongKey(db, sync, db.name, key)
  })
  Object.assign(window, { todoApp: { db, sync, link } })

  ui.retry.addEventListener('click', () => location.reload())
  ui.title.disabled = false
  ui.form.querySelector('button')!.disabled = false
  ui.title.focus()
  ui.form.addEventListener('submit', (event) => {
    event.preventDefault()
    const title = ui.title.value.trim()
    if (title === '') return
    // Emptied at once, for the next todo; a write that fails gives the title back into the field, or, when
    // another is being typed there meanwhile, names it in the error.
    ui.title.value = ''
    db.put<Todo>({ title, done: false, created: Date.now() }).then(
      () => say.ok('write'),
      (error) => {
        if (ui.title.value !== '') return say.error(error, 'write', { what: 'Not added', title })
        ui.title.value = title
        say.error(error, 'write')
      },
    )
  })
  window.addEventListener('pagehide', () => void sync.close())
  // Back from the back-forward cache the connection is closed: start afresh.
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) location.reload()
  })
}

/**
 * `/` makes a new list and turns the address into its share link; `/?db=<name>#key=<key>` opens that list
 * (the key stays in the fragment, which no server sees).
 */
async function main(): Promise<void> {
  // A link pasted into this tab that differs only after `#` (another key) does not load a new page: the page
  // opened with the old key would stay. Open the new one.
  window.addEventListener('hashchange', () => location.reload())
  if ('serviceWorker' in navigator) {
    // Caches the page itself, so it also opens without a connection (the data is in IndexedDB already).
    navigator.serviceWorker.register('/sw.js').catch(() => {})
  }
  if (!window.isSecureContext || !globalThis.crypto?.subtle) return insecure()
  let name: string | undefined
  let key: string | undefined
  try {
    ;({ db: name, key } = parseShareLink(location.href))
  } catch (error) {
    return brokenLink(undefined, (error as Error).message.replace(/^parseShareLink\(\): /, ''))
  }
  // A key without a list: the ?db=… part was lost (cut off by a chat app, or retyped). Starting a new list here
  // would drop the key, and the user would take the empty new list for the shared one.
  if (name === undefined && key !== undefined) return brokenLink(undefined, 'it has a key but names no list (the part ?db=… is missing)')
  if (name === undefined) {
    const created = newName()
    const db = database(created)
    const createdKey = await db.exportKey()
    const link = linkTo(created, createdKey)
    history.replaceState(null, '', link)
    return run(db, link, createdKey)
  }
  if (key === undefined) return brokenLink(name, `it names list ${name} but has no key`)
  let db: Database
  try {
    db = database(name, { key })
  } catch (error) {
    // An impossible list name: core's TypeError says what names are allowed.
    return brokenLink(undefined, (error as Error).message.replace(/^database\(\): name/, 'the list name'))
  }
  return run(db, linkTo(name, key), key)
}

main().catch((error) => {
  showStuck('Error')
  showError(error)
})
