/**
 * CouchDB's collation: null < false < true < numbers < strings < arrays < objects; arrays element by
 * element, objects by their entries in order.
 */
export function collate(a: unknown, b: unknown): number {
  const ra = rank(a)
  const rb = rank(b)
  if (ra !== rb) return ra - rb
  switch (ra) {
    case 0:
      return 0
    case 1:
      return (a ? 1 : 0) - (b ? 1 : 0)
    case 2:
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0
    case 3:
      return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0
    case 4: {
      const x = a as unknown[]
      const y = b as unknown[]
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const c = collate(x[i], y[i])
        if (c !== 0) return c
      }
      return x.length - y.length
    }
    default: {
      const x = Object.entries(a as object)
      const y = Object.entries(b as object)
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const c = collate(x[i]![0], y[i]![0]) || collate(x[i]![1], y[i]![1])
        if (c !== 0) return c
      }
      return x.length - y.length
    }
  }
}

function rank(value: unknown): number {
  if (value === null || value === undefined) return 0
  if (typeof value === 'boolean') return 1
  if (typeof value === 'number') return 2
  if (typeof value === 'string') return 3
  if (Array.isArray(value)) return 4
  return 5
}
