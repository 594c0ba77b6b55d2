// How many streams a setup carries: trials of growing stream counts until one fails, then a
// bisection down to a step of 8. Shared by the one-node capacity section and the scale
// section's 1/2/3-node runs, so both mean the same thing by "carried".

export interface CapacitySearch {
  /** Most streams that passed (0 if none did). */
  capacity: number;
  /** Every count on the ladder passed: the real capacity is at least `capacity`. */
  limitReached: boolean;
}

/**
 * `trial(n)` runs n streams and says whether they kept up. Walks `ladder` until a count fails;
 * with `bisect`, then halves the gap between the last pass and the first failure until it is 8.
 */
export async function searchCapacity(
  ladder: number[],
  bisect: boolean,
  trial: (streams: number) => Promise<boolean>,
): Promise<CapacitySearch> {
  let ok = 0,
    bad = 0;
  for (const n of ladder) {
    if (await trial(n)) ok = n;
    else {
      bad = n;
      break;
    }
  }
  while (bisect && bad && bad - ok > 8) {
    const mid = Math.round((ok + bad) / 2 / 8) * 8 || ok + 8;
    if (mid <= ok || mid >= bad) break;
    if (await trial(mid)) ok = mid;
    else bad = mid;
  }
  return { capacity: ok, limitReached: !bad };
}
