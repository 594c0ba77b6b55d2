// Runs uvu suites in one process (through tsx) and prints, last, the plain
// "N passed, N failed, N skipped" line that CI reads; uvu's own summary is not machine-read.
// Usage: node test/run.mjs [dir [pattern]] [uvu options]; by default every test/*.test.ts.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const uvuBin = fileURLToPath(new URL('../node_modules/uvu/bin.js', import.meta.url));
const argv = process.argv.slice(2);
const positional = [];
while (positional.length < 2 && argv.length > 0 && !argv[0].startsWith('-')) positional.push(argv.shift());
const [dir = 'test', pattern = '\\.test\\.ts$'] = positional;
const args = ['--import', 'tsx', uvuBin, dir, pattern, ...argv];
const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
child.stdout.on('data', (b) => {
  out += b;
  process.stdout.write(b);
});
child.on('close', (code) => {
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  // uvu's "Total" counts the tests that ran; skipped ones (suite.skip) are counted apart.
  const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? 0);
  const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? 0);
  const skipped = Number(/Skipped:\s+(\d+)/.exec(plain)?.[1] ?? 0);
  const failed = Math.max(total - passed, code === 0 ? 0 : 1);
  console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(code === 0 && failed === 0 && total > 0 ? 0 : 1);
});
