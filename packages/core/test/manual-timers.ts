/** Timers for a Scheduler that fire only when the test says so. */
export function manualTimers() {
  const pending = new Map<number, () => void>()
  let next = 0
  return {
    setTimer: (run: () => void) => (pending.set(++next, run), next),
    clearTimer: (timer: unknown) => void pending.delete(timer as number),
    fireAll: () => [...pending.entries()].forEach(([id, run]) => (pending.delete(id), run())),
    get count() {
      return pending.size
    },
  }
}
