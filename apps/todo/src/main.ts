import { database, parseShareLink, shareLink, type Database, type StoredDoc, type Sync, type SyncStatus } from '@proj/core'
import { connect } from '@proj/connect-partykit'

/** A todo as stored: `created` orders the list (ms since epoch on the device that made it). */
type Todo = {
  _id?: string
  title: string
  done: boolean
  created: number
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T
const ui = {
  status: $<HTMLSpanElement>('status'),
  form: $<HTMLFormElement>('add'),
  title: $<HTMLInputElement>('new-title'),
  list: $<HTMLUListElement>('todos'),
  empty: $<HTMLParagraphElement>('empty'),
  footer: $<HTMLElement>('footer'),
  count: $<HTMLSpanElement>('count'),
  clearDone: $<HTMLButtonElement>('clear-done'),
  share: $<HTMLInputElement>('share-link'),
  copy: $<HTMLButtonElement>('copy'),
  error: $<HTMLParagraphElement>('error'),
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

function showError(error: unknown): void {
  ui.error.hidden = false
  ui.error.textContent = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

/** A new database name: `todos-` and 12 random base-36 characters. */
function newName(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12))
  return `todos-${Array.from(bytes, (byte) => (byte % 36).toString(36)).join('')}`
}

/**
 * `/` makes a new database and turns the address into its share link; `/?db=<name>#key=<key>` opens that
 * database (the key stays in the fragment, which no server sees).
 */
async function open(): Promise<{ db: Database; link: string }> {
  const { db: name, key } = parseShareLink(location.href)
  if (name === undefined) {
    const created = newName()
    const db = database(created)
    const link = shareLink(`${location.origin}/`, { db: created, key: await db.exportKey() })
    history.replaceState(null, '', link)
    return { db, link }
  }
  if (key === undefined) throw new TypeError(`the link to database ${name} has no key: expected …#key=<key> at its end`)
  const db = database(name, { key })
  return { db, link: shareLink(`${location.origin}/`, { db: name, key: await db.exportKey() }) }
}

/**
 * The lists opened on this device (newest first), so that `/` (which always starts a new list) does not strand
 * the old ones. Their keys are on this device already (core's keybag); the links only make them reachable.
 */
const RECENT_KEY = 'proj-todo:lists'
type Recent = { db: string; link: string; opened: number }

function rememberList(db: string, link: string): Recent[] {
  let lists: Recent[] = []
  try {
    const stored: unknown = JSON.parse(localStorage.getItem(RECENT_KEY) ?? '[]')
    if (Array.isArray(stored)) lists = stored.filter((item): item is Recent => typeof item?.db === 'string' && typeof item?.link === 'string')
  } catch {
    // unreadable: start over
  }
  lists = [{ db, link, opened: Date.now() }, ...lists.filter((item) => item.db !== db)].slice(0, 10)
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify(lists))
  } catch {
    // storage full or disabled: the list is a convenience only
  }
  return lists.slice(1)
}

function showRecent(lists: Recent[]): void {
  ui.recent.hidden = lists.length === 0
  ui.recentLists.replaceChildren(
    ...lists.map((item) => {
      const li = document.createElement('li')
      const a = document.createElement('a')
      a.href = item.link
      a.textContent = item.db
      const when = document.createElement('span')
      when.className = 'when'
      when.textContent = ` · opened ${new Date(item.opened).toLocaleString()}`
      li.append(a, when)
      return li
    }),
  )
}

function showStatus(sync: Sync): void {
  const status = sync.status
  ui.status.dataset.status = status
  ui.status.textContent = STATUS_TEXT[status]
  ui.status.title = status === 'error' && sync.lastError ? sync.lastError.message : ''
}

/** Keyed rendering: rows are updated in place, so a row being edited keeps its input across remote changes. */
function renderer(db: Database): () => void {
  const rows = new Map<string, HTMLLIElement>()
  let scheduled = false
  let running: Promise<void> = Promise.resolve()

  async function render(): Promise<void> {
    const { rows: all } = await db.allDocs<Todo>()
    const todos = all.map((row) => row.value).sort((a, b) => a.created - b.created || (a._id < b._id ? -1 : 1))
    const seen = new Set<string>()
    for (const [index, todo] of todos.entries()) {
      seen.add(todo._id)
      let li = rows.get(todo._id)
      if (!li) {
        li = row(db, todo._id)
        rows.set(todo._id, li)
      }
      update(li, todo)
      if (ui.list.children[index] !== li) ui.list.insertBefore(li, ui.list.children[index] ?? null)
    }
    for (const [id, li] of rows) {
      if (!seen.has(id)) {
        li.remove()
        rows.delete(id)
      }
    }
    const left = todos.filter((todo) => !todo.done).length
    ui.empty.hidden = todos.length > 0
    ui.footer.hidden = todos.length === 0
    ui.count.textContent = `${left} ${left === 1 ? 'item' : 'items'} left`
    ui.clearDone.hidden = todos.length === left
  }

  return () => {
    if (scheduled) return
    scheduled = true
    running = running.then(() => {
      scheduled = false
      return render().catch(showError)
    })
  }
}

function row(db: Database, id: string): HTMLLIElement {
  const li = document.createElement('li')
  li.dataset.id = id
  const toggle = document.createElement('input')
  toggle.type = 'checkbox'
  toggle.className = 'toggle'
  toggle.setAttribute('aria-label', 'Done')
  const title = document.createElement('span')
  title.className = 'title'
  title.title = 'Double-click to edit'
  const remove = document.createElement('button')
  remove.type = 'button'
  remove.className = 'delete'
  remove.setAttribute('aria-label', 'Delete')
  remove.textContent = '×'
  li.append(toggle, title, remove)

  const current = () => JSON.parse(li.dataset.todo ?? '{}') as StoredDoc<Todo>
  toggle.addEventListener('change', () => {
    void db.put({ ...current(), done: toggle.checked }).catch(showError)
  })
  remove.addEventListener('click', () => {
    void db.del(id).catch(showError)
  })
  title.addEventListener('dblclick', () => {
    if (li.querySelector('.edit')) return
    const input = document.createElement('input')
    input.className = 'edit'
    input.value = current().title
    input.maxLength = 500
    input.setAttribute('aria-label', 'Edit todo')
    title.hidden = true
    li.insertBefore(input, remove)
    input.focus()
    input.select()
    let done = false
    const finish = (save: boolean) => {
      if (done) return
      done = true
      const value = input.value.trim()
      input.remove()
      title.hidden = false
      if (!save) return
      const todo = current()
      if (value === '') void db.del(id).catch(showError)
      else if (value !== todo.title) {
        title.textContent = value
        void db.put({ ...todo, title: value }).catch(showError)
      }
    }
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') finish(true)
      else if (event.key === 'Escape') finish(false)
    })
    input.addEventListener('blur', () => finish(true))
  })
  return li
}

function update(li: HTMLLIElement, todo: StoredDoc<Todo>): void {
  li.dataset.todo = JSON.stringify(todo)
  li.classList.toggle('done', todo.done)
  const toggle = li.querySelector<HTMLInputElement>('.toggle')!
  toggle.checked = todo.done
  const title = li.querySelector<HTMLSpanElement>('.title')!
  if (title.textContent !== todo.title) title.textContent = todo.title
}

async function main(): Promise<void> {
  const { db, link } = await open()
  ui.share.value = link
  showRecent(rememberList(db.name, link))
  ui.share.addEventListener('focus', () => ui.share.select())
  ui.copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(link)
    } catch {
      ui.share.select()
      document.execCommand('copy')
    }
    ui.copy.textContent = 'Copied'
    setTimeout(() => (ui.copy.textContent = 'Copy'), 1500)
  })

  const render = renderer(db)
  db.subscribe(render)
  render()

  // The page is served by the same PartyKit server that hosts the party.
  const sync = connect.partykit(db, location.origin)
  showStatus(sync)
  sync.on('status', () => showStatus(sync))
  sync.on('error', () => showStatus(sync))
  sync.ready.then(render, () => showStatus(sync))
  Object.assign(window, { todoApp: { db, sync, link } })

  ui.title.disabled = false
  ui.form.querySelector('button')!.disabled = false
  ui.title.focus()
  ui.form.addEventListener('submit', (event) => {
    event.preventDefault()
    const title = ui.title.value.trim()
    if (title === '') return
    ui.title.value = ''
    void db.put<Todo>({ title, done: false, created: Date.now() }).catch(showError)
  })
  ui.clearDone.addEventListener('click', async () => {
    const { rows } = await db.allDocs<Todo>()
    const done = rows.filter((row) => row.value.done)
    await Promise.all(done.map((row) => db.del(row.key))).catch(showError)
  })
  window.addEventListener('pagehide', () => void sync.close())
  // Back from the back-forward cache the connection is closed: start afresh.
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) location.reload()
  })

  if ('serviceWorker' in navigator) {
    // Caches the page itself, so it also opens without a connection (the data is in IndexedDB already).
    navigator.serviceWorker.register('/sw.js').catch(() => {})
  }
}

main().catch(showError)
