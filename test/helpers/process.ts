// Whether a process still exists, for tests that check a child was not left running.

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls until `pid` is gone or `tries` polls `stepMs` apart have passed; true when gone. */
export async function waitGone(pid: number, tries: number, stepMs: number): Promise<boolean> {
  for (let i = 0; i < tries && isAlive(pid); i++) await new Promise((r) => setTimeout(r, stepMs));
  return !isAlive(pid);
}
