/**
 * Resolves on a later turn of the event loop, after pending timers and I/O callbacks. Node: setImmediate;
 * browsers: a MessageChannel message (setTimeout(0) is clamped to 4 ms once nested).
 */
export function nextTurn(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve))
  return new Promise((resolve) => {
    const channel = new MessageChannel()
    channel.port1.onmessage = () => {
      channel.port1.close()
      resolve()
    }
    channel.port2.postMessage(null)
  })
}
