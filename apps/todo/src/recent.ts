/**
 * The lists opened on this device (newest first), so that `/` (which always starts a new list) does not strand
 * the old ones. Their keys are on this device already (core's keybag); the links only make them reachable.
 * A list is remembered only once its key has opened it, and forgotten when the key turns out to be wrong.
 */
const RECENT_KEY = 'proj-todo:lists'
const KEEP = 10

export type Recent = { db: string; link: string; opened: number }

export function recentLists(): Recent[] {
  try {
    const stored: unknown = JSON.parse(localStorage.getItem(RECENT_KEY) ?? '[]')
    if (!Array.isArray(stored)) return []
    return stored.filter(
      (item): item is Recent => typeof item?.db === 'string' && typeof item?.link === 'string' && typeof item?.opened === 'number',
    )
  } catch {
    return [] // unreadable: start over
  }
}

function store(lists: Recent[]): void {
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify(lists.slice(0, KEEP)))
  } catch {
    // storage full or disabled: the list is a convenience only
  }
}

export function rememberList(db: string, link: string): void {
  store([{ db, link, opened: Date.now() }, ...recentLists().filter((item) => item.db !== db)])
}

export function forgetList(db: string): void {
  store(recentLists().filter((item) => item.db !== db))
}

/** Shows the remembered lists other than `current`. */
export function showRecent(section: HTMLElement, list: HTMLUListElement, current: string | undefined): void {
  const lists = recentLists().filter((item) => item.db !== current)
  section.hidden = lists.length === 0
  list.replaceChildren(
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
