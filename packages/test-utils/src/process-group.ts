import type { ChildProcess } from 'node:child_process'

/**
 * Should the test process exit without running teardown (a forced exit after a hang), the detached child's
 * whole process group goes with it.
 */
export function killGroupOnExit(child: ChildProcess): void {
  const pid = child.pid
  const onExit = () => {
    try {
      if (pid !== undefined) process.kill(-pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  process.once('exit', onExit)
  child.once('exit', () => process.off('exit', onExit))
}

/**
 * SIGTERM to the child's process group, SIGKILL after 5 s, then waits until no process of the group is left
 * (workerd may outlive its parent for a moment and still hold the port).
 */
export async function stopGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  try {
    process.kill(-pid, 'SIGTERM')
  } catch {
    return
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }, 5_000)
  await exited
  clearTimeout(timer)
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(-pid, 0)
    } catch {
      return
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // already gone
  }
}
