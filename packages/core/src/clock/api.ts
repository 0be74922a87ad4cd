/** A clock: the CIDs (strings) of the head events. Serializable; pass it back to `changes` and `at`. */
export type Clock = string[]
