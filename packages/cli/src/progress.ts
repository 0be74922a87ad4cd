/**
 * One status line on stderr, redrawn in place: `label [#####-----] 12/40  1.2 MB`. Only on a terminal and
 * without --quiet, so piped output and logs stay clean. At most ~10 redraws a second.
 */
export interface Progress {
  update(state: { done: number; total?: number; bytes?: number; unit?: string }): void
  /** Removes the line. */
  end(): void
}

const WIDTH = 24
const INTERVAL_MS = 100

export function progress(label: string, options: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): Progress {
  const stream = options.stream ?? process.stderr
  if (options.quiet || !stream.isTTY) return { update() {}, end() {} }
  let last = 0
  let shown = false
  return {
    update({ done, total, bytes, unit = 'files' }) {
      const now = Date.now()
      const finished = total !== undefined && done >= total
      if (!finished && now - last < INTERVAL_MS) return
      last = now
      let line = `${label} `
      if (total) {
        const filled = Math.min(WIDTH, Math.round((done / total) * WIDTH))
        line += `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${done}/${total} ${unit}`
      } else {
        line += `${done} ${unit}`
      }
      if (bytes !== undefined) line += `  ${formatBytes(bytes)}`
      const columns = stream.columns || 80
      stream.write(`\r${line.slice(0, columns - 1)}\x1b[K`)
      shown = true
    },
    end() {
      if (shown) stream.write('\r\x1b[K')
      shown = false
    },
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`
  const units = ['kB', 'MB', 'GB', 'TB']
  let value = bytes
  let unit = -1
  do {
    value /= 1000
    unit++
  } while (value >= 1000 && unit < units.length - 1)
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`
}
