/**
 * Items that arrive at the same instant, such as one frame of each of N live streams: a source yields them as one
 * ItemGroup, and the source loop emits them one after another in the same turn, in order. One promise per group
 * instead of one per item, and every item of the group carries the same arrival time, so the items taken last
 * count the wait behind the others in their latency.
 */
export class ItemGroup<T = unknown> {
  constructor(readonly items: readonly T[]) {}
}
