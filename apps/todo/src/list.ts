import { ClockChangedError, NotFoundError, type Attachment, type ChangeRow, type Database, type StoredDoc } from '@proj/core'
import { conflictOf, describeOther, keep, type Conflict } from './conflict.js'
import type { Messages } from './messages.js'
import { removeTodos } from './remove.js'
import { thumbnailer } from './thumbnail.js'
import { byCreated, viewOf, type TodoView } from './todo.js'

/**
 * Toggle-all and Clear completed read and write again when their write meets a change made since their read,
 * at most this often.
 */
const TOGGLE_ATTEMPTS = 5

export type Filter = 'all' | 'active' | 'completed'

/** What a change resolves with when it wrote nothing because its todo was deleted elsewhere. */
const GONE = Symbol('gone')

export interface ListUi {
  list: HTMLUListElement
  empty: HTMLParagraphElement
  footer: HTMLElement
  count: HTMLElement
  clearDone: HTMLButtonElement
  toggleAll: HTMLInputElement
  filters: HTMLElement
}

/** A picture outline (drawn, so it shows without an emoji font). */
const PICTURE_ICON =
  '<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round"><rect x="3" y="4" width="18" height="16" rx="2"/><circle cx="9" cy="10" r="2"/><path d="m21 16-5-5-9 9"/></svg>'

const EMPTY: Record<Filter, string> = {
  all: 'Nothing to do yet. Add the first todo above.',
  active: 'Nothing left to do.',
  completed: 'Nothing completed yet.',
}

/**
 * Keeps the list on the page in step with the database: rows are keyed by id and updated in place, so a row
 * being edited keeps its input across remote changes. Returns `render`, to call after every change (renders
 * never overlap and a burst of changes renders once), and `retryImages`, to call when sync is back: images
 * that could not be downloaded are tried again at once instead of after their backoff.
 */
export function listRenderer(
  db: Database,
  ui: ListUi,
  say: Messages,
): { render: (changed?: ChangeRow[]) => void; retryImages: () => void } {
  const rows = new Map<string, HTMLLIElement>()
  const views = new WeakMap<HTMLLIElement, TodoView>()
  /** Each todo as last shown, kept after it is deleted: what "Restore it" writes back when a change found it gone. */
  const lastShown = new Map<string, StoredDoc>()
  /** The open title editor of a row, to save what was typed when the row goes (its todo deleted elsewhere). */
  const editors = new WeakMap<HTMLLIElement, (save: boolean) => void>()
  /** Rows whose image cannot be read (a failure retrying cannot fix): the error line says so until none is left. */
  const unreadableImages = new Set<HTMLLIElement>()
  const thumbnails = thumbnailer(
    (error, li) => {
      unreadableImages.add(li)
      say.error(error, 'image')
    },
    (li) => {
      if (unreadableImages.delete(li) && unreadableImages.size === 0) say.ok('image')
    },
  )
  let filter: Filter = 'all'
  let scheduled = false
  /** Conflicts by id, and the ids to look at again (changed since); undefined: look at all (the first render). */
  const conflicts = new Map<string, Conflict>()
  let recheck: Set<string> | undefined
  let running: Promise<void> = Promise.resolve()

  /**
   * Runs a write of the page: its failure is shown (after `failed`, which gives back what the user typed), and
   * its success ends an error an earlier write showed.
   */
  const write = (operation: Promise<unknown>, failed?: () => void) =>
    void operation.then(
      (result) => {
        if (result !== GONE) say.ok('write')
      },
      (error) => {
        failed?.()
        say.error(error, 'write')
      },
    )

  /** The todo `id` was deleted elsewhere before `changes` to it were written: say so, offer to restore it whole. */
  function deletedElsewhere(id: string, changes: Record<string, unknown>): typeof GONE {
    const last = lastShown.get(id)
    if (last) say.deletedElsewhere(viewOf(last).title, () => db.put({ ...last, ...changes }).then(() => undefined))
    return GONE
  }

  /**
   * Changes one field of a stored document: read fresh, so every other field (whatever its type) is kept as
   * stored; a document deleted meanwhile stays deleted (the user is told, and may restore it).
   */
  async function change(id: string, field: string, value: unknown): Promise<void | typeof GONE> {
    let doc: StoredDoc
    try {
      doc = await db.get(id)
    } catch (error) {
      if (error instanceof NotFoundError) return deletedElsewhere(id, { [field]: value })
      throw error
    }
    await db.put({ ...doc, [field]: value })
  }

  const remove = (ids: string[]) => removeTodos(db, ids)

  /** Stores `file` as the todo's `_files.image` (replacing one it had), keeping its other attachments. */
  async function attachImage(id: string, file: File): Promise<void | typeof GONE> {
    if (!file.type.startsWith('image/')) throw new TypeError(`"${file.name}" is not an image (its type is "${file.type}")`)
    const withImage = (doc: StoredDoc) => {
      const files = doc._files && typeof doc._files === 'object' ? (doc._files as Record<string, Attachment>) : {}
      return { ...files, image: file }
    }
    let doc: StoredDoc
    try {
      doc = await db.get(id)
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error
      const last = lastShown.get(id)
      return deletedElsewhere(id, { _files: last ? withImage(last) : { image: file } })
    }
    await db.put({ ...doc, _files: withImage(doc) })
  }

  function row(id: string): HTMLLIElement {
    const li = document.createElement('li')
    li.dataset.id = id
    const toggle = document.createElement('input')
    toggle.type = 'checkbox'
    toggle.className = 'toggle'
    toggle.setAttribute('aria-label', 'Done')
    const title = document.createElement('span')
    title.className = 'title'
    title.title = 'Double-click to edit'
    const deleteButton = document.createElement('button')
    deleteButton.type = 'button'
    deleteButton.className = 'delete'
    deleteButton.setAttribute('aria-label', 'Delete')
    deleteButton.textContent = '×'
    const thumb = document.createElement('img')
    thumb.className = 'thumb'
    thumb.alt = 'Image of this todo'
    thumb.hidden = true
    // The file input sits inside its label, visually hidden: the label is what shows and what is clicked.
    const attach = document.createElement('label')
    attach.className = 'attach'
    attach.title = 'Attach an image'
    const picker = document.createElement('input')
    picker.type = 'file'
    picker.accept = 'image/*'
    picker.className = 'image-input'
    picker.setAttribute('aria-label', 'Attach an image')
    attach.append(picker)
    attach.insertAdjacentHTML('beforeend', PICTURE_ICON)
    const notice = document.createElement('div')
    notice.className = 'conflict'
    notice.setAttribute('role', 'status')
    notice.hidden = true
    li.append(toggle, thumb, title, attach, deleteButton, notice)

    picker.addEventListener('change', () => {
      const file = picker.files?.[0]
      picker.value = ''
      if (file) write(attachImage(id, file))
    })

    // The box flips at the click: one whose write fails goes back to what is stored, not to show a todo done
    // that no device has done.
    toggle.addEventListener('change', () => write(change(id, 'done', toggle.checked), () => (toggle.checked = views.get(li)?.done ?? false)))
    deleteButton.addEventListener('click', () => write(remove([id])))
    title.addEventListener('dblclick', () => edit())

    /**
     * Opens the row's title editor, with `typed` in it: the stored title, or a title whose write failed (given
     * back, so that what was typed is not lost; the row shows the stored title again meanwhile).
     */
    function edit(typed?: string): void {
      if (li.querySelector('.edit')) return
      const before = views.get(li)?.title ?? ''
      const input = document.createElement('input')
      input.className = 'edit'
      input.value = typed ?? before
      input.placeholder = '(no title)'
      input.maxLength = 500
      input.setAttribute('aria-label', 'Edit todo')
      title.hidden = true
      li.insertBefore(input, deleteButton)
      // A title given back is not to take the focus from where the user has gone on typing meanwhile.
      if (typed === undefined || !document.activeElement || document.activeElement === document.body) {
        input.focus()
        input.select()
      }
      let finished = false
      const finish = (save: boolean) => {
        if (finished) return
        finished = true
        editors.delete(li)
        const value = input.value.trim()
        input.remove()
        title.hidden = false
        // Only what the user typed is written: opening and leaving the editor changes nothing.
        if (!save || value === before.trim()) return
        if (value === '') write(remove([id]))
        else {
          showTitle(title, value)
          write(change(id, 'title', value), () => {
            if (!li.isConnected) return
            showTitle(title, views.get(li)?.title ?? '')
            edit(value)
          })
        }
      }
      editors.set(li, finish)
      input.addEventListener('keydown', (event) => {
        if (event.key === 'Enter') finish(true)
        else if (event.key === 'Escape') finish(false)
      })
      input.addEventListener('blur', () => finish(true))
    }
    return li
  }

  /** The row's conflict notice: the other version in words, and a button to keep each. */
  function showConflict(li: HTMLLIElement, conflict: Conflict | undefined): void {
    const notice = li.querySelector<HTMLElement>('.conflict')!
    li.classList.toggle('conflicted', conflict !== undefined)
    notice.hidden = conflict === undefined
    if (!conflict) return
    const parts = describeOther(conflict)
    const key = JSON.stringify(parts)
    if (notice.dataset.other === key) return
    notice.dataset.other = key
    const words = document.createElement('span')
    words.append('Changed on two devices at once. The other version: ')
    for (const [index, part] of parts.entries()) {
      if (index > 0) words.append(', ')
      if (typeof part === 'string') words.append(part)
      else {
        const title = document.createElement('bdi')
        title.textContent = part.title
        words.append('“', title, '”')
      }
    }
    words.append('.')
    const choose = (label: string, version: StoredDoc) => {
      const button = document.createElement('button')
      button.type = 'button'
      button.className = 'link'
      button.textContent = label
      button.addEventListener('click', () => write(keep(db, version)))
      return button
    }
    notice.replaceChildren(words, choose('Use the other version', conflict.other), choose('Keep this one', conflict.shown))
  }

  function update(li: HTMLLIElement, view: TodoView): void {
    views.set(li, view)
    li.classList.toggle('done', view.done)
    li.querySelector<HTMLInputElement>('.toggle')!.checked = view.done
    showTitle(li.querySelector<HTMLSpanElement>('.title')!, view.title)
    thumbnails.show(li, view.image)
    showConflict(li, conflicts.get(view.id))
    li.hidden = (filter === 'active' && view.done) || (filter === 'completed' && !view.done)
  }

  async function render(): Promise<void> {
    const check = recheck
    recheck = new Set()
    const { rows: all } = await db.allDocs()
    for (const row of all) {
      lastShown.set(row.key, row.value)
      if (check && !check.has(row.key)) continue
      const conflict = await conflictOf(db, row.key)
      if (conflict) conflicts.set(row.key, conflict)
      else conflicts.delete(row.key)
    }
    const todos = all.map((row) => viewOf(row.value)).sort(byCreated)
    const seen = new Set<string>()
    for (const [index, todo] of todos.entries()) {
      seen.add(todo.id)
      let li = rows.get(todo.id)
      if (!li) {
        li = row(todo.id)
        rows.set(todo.id, li)
      }
      update(li, todo)
      if (ui.list.children[index] !== li) ui.list.insertBefore(li, ui.list.children[index] ?? null)
    }
    for (const [id, li] of rows) {
      if (!seen.has(id)) {
        // Deleted while its title was being edited here: what was typed is saved, which finds it gone and says so.
        editors.get(li)?.(true)
        conflicts.delete(id)
        thumbnails.release(li)
        li.remove()
        rows.delete(id)
      }
    }
    const left = todos.filter((todo) => !todo.done).length
    const shown = todos.filter((todo) => filter === 'all' || (filter === 'active') === !todo.done).length
    ui.empty.hidden = shown > 0
    ui.empty.textContent = todos.length === 0 ? EMPTY.all : EMPTY[filter]
    ui.footer.hidden = todos.length === 0
    ui.count.textContent = `${left} ${left === 1 ? 'item' : 'items'} left`
    ui.clearDone.hidden = todos.length === left
    ui.toggleAll.hidden = todos.length === 0
    ui.toggleAll.checked = todos.length > 0 && left === 0
    ui.toggleAll.title = left === 0 ? 'Mark all as active' : 'Mark all as complete'
    for (const button of ui.filters.querySelectorAll<HTMLButtonElement>('button[data-filter]')) {
      button.setAttribute('aria-pressed', String(button.dataset.filter === filter))
    }
  }

  const schedule = (changed?: ChangeRow[]) => {
    if (Array.isArray(changed)) for (const row of changed) recheck?.add(row.key)
    if (scheduled) return
    scheduled = true
    running = running.then(() => {
      scheduled = false
      return render().then(
        () => say.ok('read'),
        (error) => say.error(error, 'read'),
      )
    })
  }

  /**
   * The newest stored version of each of `ids` (those deleted meanwhile left out), read once the list has been
   * read: a change merged from another device while the list was read is in them, and writing them back with
   * one field changed keeps it. (Writing the list's own rows wrote every todo as it was when the list was read,
   * undoing such a change.)
   */
  async function newest(ids: string[]): Promise<StoredDoc[]> {
    const docs = await Promise.all(
      ids.map((id) =>
        db.get(id).catch((error: unknown) => {
          if (error instanceof NotFoundError) return undefined
          throw error
        }),
      ),
    )
    return docs.filter((doc) => doc !== undefined)
  }

  // TodoMVC's toggle-all: everything done, or (when everything is) everything active. One transaction, and only
  // the documents whose state changes are written, each its newest version with only `done` changed. Read and
  // written at one clock (`ifClock`): a change written or merged from another device between the read and the
  // write makes it reject, and the toggle is read and made again, so it never undoes that change.
  ui.toggleAll.addEventListener('change', () => {
    const done = ui.toggleAll.checked
    write((async () => {
      for (let attempt = 1; ; attempt++) {
        const clock = await db.clock()
        const { rows: all } = await db.allDocs()
        const stale = all.filter((row) => viewOf(row.value).done !== done).map((row) => row.key)
        const changed = (await newest(stale)).filter((doc) => viewOf(doc).done !== done).map((doc) => ({ ...doc, done }))
        try {
          if (changed.length) await db.bulk(changed, { ifClock: clock })
          return
        } catch (error) {
          if (!(error instanceof ClockChangedError) || attempt >= TOGGLE_ATTEMPTS) throw error
        }
      }
    })(), () => (ui.toggleAll.checked = !done))
  })
  // Only what is still done when it is deleted: one unchecked on another device meanwhile stays (read and
  // deleted at one clock, read again when a change landed since, as toggle-all does).
  ui.clearDone.addEventListener('click', () => {
    write((async () => {
      for (let attempt = 1; ; attempt++) {
        const clock = await db.clock()
        const { rows: all } = await db.allDocs()
        const done = all.filter((row) => viewOf(row.value).done).map((row) => row.key)
        try {
          await removeTodos(db, (await newest(done)).filter((doc) => viewOf(doc).done).map((doc) => doc._id), clock)
          return
        } catch (error) {
          if (!(error instanceof ClockChangedError) || attempt >= TOGGLE_ATTEMPTS) throw error
        }
      }
    })())
  })
  for (const button of ui.filters.querySelectorAll<HTMLButtonElement>('button[data-filter]')) {
    button.addEventListener('click', () => {
      filter = button.dataset.filter as Filter
      schedule()
    })
  }
  return { render: schedule, retryImages: thumbnails.retry }
}

/** Writes the title only when it differs, so a selection inside it survives re-renders. */
function showTitle(span: HTMLSpanElement, title: string): void {
  const untitled = title.trim() === ''
  const text = untitled ? '(no title)' : title
  span.classList.toggle('untitled', untitled)
  if (span.textContent !== text) span.textContent = text
}
