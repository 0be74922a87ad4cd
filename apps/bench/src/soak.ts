export async function runSoak(_o: { seconds: number; replicas: number; seed: number; write: boolean; out: string }): Promise<void> {
  throw new Error('soak: not yet')
}
