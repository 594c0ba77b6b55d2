// A bench (or test) process stopped by a signal takes its server children with it: a killed
// `emostream bench` used to leave its servers running, holding ports, cores and memory.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isAlive as alive, waitGone } from './helpers/process.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/bench-server-then-wait.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} to the parent stops its server child`, async () => {
    const parent = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      parent.stdout!.on('data', (b) => {
        out += b;
        const m = /pid (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      parent.once('exit', (code) => reject(new Error(`the parent exited (${code}) before its server started`)));
    });
    assert.ok(alive(pid), 'the server runs');
    const exited = new Promise<number | null>((r) => parent.once('exit', (code) => r(code)));
    parent.kill(signal);
    const code = await exited;
    if (!(await waitGone(pid, 50, 100)))
      process.kill(pid, 'SIGKILL'); // not left behind by a failing run either
    else pid = 0;
    assert.is(pid, 0, `a server was left running after ${signal}`);
    assert.is(code, signal === 'SIGINT' ? 130 : 143, 'the usual exit code for the signal');
  });
}

test.run();
