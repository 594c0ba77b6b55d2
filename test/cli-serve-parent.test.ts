// `emostream serve` started by npm (npm start, npx) must not outlive it: when npm dies without
// passing SIGTERM on, the server shuts down by itself (issue #14, 9).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isAlive as alive, waitGone } from './helpers/process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** `serve` under sh (`; true` keeps sh as its parent: no exec of the last command); resolves
 *  once it listens, with the launcher, the server's pid and its log so far. */
async function launch(env: NodeJS.ProcessEnv) {
  const sh = spawn('sh', ['-c', 'node bin/emostream.js serve --port 0 --log-level info; true'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  const log = { text: '' };
  const pid = await new Promise<number>((resolve, reject) => {
    sh.stderr.on('data', (b) => {
      log.text += b;
      const m = /"pid":(\d+).*"msg":"listening"/.exec(log.text);
      if (m) resolve(Number(m[1]));
    });
    sh.on('exit', () => reject(new Error(`sh exited before the server listened:\n${log.text}`)));
  });
  return { sh, pid, log };
}

test('started by npm, the server exits when npm is killed', async () => {
  const { sh, pid, log } = await launch({ ...process.env, npm_lifecycle_event: 'start' }); // what npm sets
  assert.ok(alive(pid), 'server running');
  sh.kill('SIGKILL'); // the launcher dies and passes nothing on
  const stillThere = !(await waitGone(pid, 200, 100));
  if (stillThere) process.kill(pid, 'SIGKILL');
  assert.not.ok(stillThere, 'the orphaned server shut itself down');
  assert.match(log.text, /"signal":"parent exited"/);
});

test('started by something other than npm (nohup, setsid), it outlives its launcher', async () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_') && k !== 'EMOSTREAM_PARENT_WATCH'));
  const { sh, pid } = await launch(env);
  sh.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 1500)); // three parent checks' worth
  const running = alive(pid);
  process.kill(pid, 'SIGTERM');
  assert.ok(running, 'still serving');
});

test.run();
