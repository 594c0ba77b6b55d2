// Tests that read ../shared/data (or need Chromium) run when it is there. When it is missing they
// fail under CI=true, where it must exist, and are reported as skipped elsewhere, so a run
// without the data never counts them as passed.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';

export const SHARED_DATA = fileURLToPath(new URL('../../../shared/data/', import.meta.url));

/** A path under ../shared/data. */
export function sharedPath(rel: string): string {
  return SHARED_DATA + rel;
}

/** The corpora scripts/prepare-corpora.sh prepares (not in CI: tests on them are optional). */
export const CORPORA = fileURLToPath(new URL('../../corpora/', import.meta.url));

/**
 * Registers `fn` as test `name` of `suite` if every path in `needs` exists (see above). With
 * `requiredInCi: false` (data CI does not have, such as corpora/), a missing path skips it even in CI.
 */
export function dataTest<T>(
  suite: Test<T>,
  name: string,
  needs: readonly string[],
  fn: (ctx: T) => unknown,
  { requiredInCi = true } = {},
): void {
  const missing = needs.filter((p) => !existsSync(p));
  if (missing.length === 0) suite(name, fn as never);
  else if (requiredInCi && process.env.CI === 'true')
    suite(name, () => assert.unreachable(`missing (CI=true requires it): ${missing.join(', ')}`));
  else suite.skip(name, fn as never);
}
