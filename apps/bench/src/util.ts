import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** Apparent bytes and file count of everything under `dir`. */
export function diskUsage(dir: string): { bytes: number; files: number } {
  let bytes = 0
  let files = 0
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name)
      if (entry.isDirectory()) walk(p)
      else if (entry.isFile()) {
        bytes += statSync(p).size
        files++
      }
    }
  }
  try {
    walk(dir)
  } catch {
    /* absent: 0 */
  }
  return { bytes, files }
}

/** Peak resident set size of this process so far, in MB (VmHWM). */
export function peakRssMb(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))
    if (m) return Number(m[1]) / 1024
  } catch {
    /* not Linux */
  }
  return process.resourceUsage().maxRSS / 1024
}

/** Bytes this process has read through read syscalls so far (/proc/self/io rchar), or -1. */
export function readChars(): number {
  try {
    const m = /rchar:\s+(\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))
    return m ? Number(m[1]) : -1
  } catch {
    return -1
  }
}

/** Bytes this process has handed to write syscalls so far (/proc/self/io wchar), or -1. */
export function writtenChars(): number {
  try {
    const m = /wchar:\s+(\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))
    return m ? Number(m[1]) : -1
  } catch {
    return -1
  }
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
