/**
 * Several async sources read at once, their items yielded as they come, each tagged with its
 * source's index (candidates generated side by side, streamed interleaved as Google does). A
 * failing source fails the whole; leaving early returns every source.
 */
export async function* interleave<T>(sources: AsyncIterable<T>[]): AsyncGenerator<[index: number, item: T]> {
  const iterators = sources.map((source) => source[Symbol.asyncIterator]());
  type Step = { index: number; result: IteratorResult<T> };
  const pull = (index: number): Promise<Step> => iterators[index]!.next().then((result) => ({ index, result }));
  const pending = new Map<number, Promise<Step>>(iterators.map((_, index) => [index, pull(index)]));
  try {
    while (pending.size > 0) {
      const { index, result } = await Promise.race(pending.values());
      if (result.done) {
        pending.delete(index);
        continue;
      }
      pending.set(index, pull(index));
      yield [index, result.value];
    }
  } finally {
    for (const pendingStep of pending.values()) pendingStep.catch(() => {});
    await Promise.allSettled(iterators.map((iterator) => iterator.return?.()));
  }
}
