// uvu runs the tests registered before `name.run()`: one registered after it is silently never
// run (found twice). Fails listing every test or suite case written after its runner.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = new URL('../test/', import.meta.url).pathname;
const problems = [];
for (const name of readdirSync(dir).filter((f) => f.endsWith('.test.ts'))) {
  const ran = new Set();
  readFileSync(join(dir, name), 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const run = /^(\w+)\.run\(\);/.exec(line);
      if (run) return ran.add(run[1]);
      const call = /^(\w+)(?:\.only|\.skip)?\(/.exec(line);
      if (call && ran.has(call[1])) problems.push(`test/${name}:${i + 1}: '${call[1]}' registers a test after ${call[1]}.run()`);
    });
}
if (problems.length) {
  console.error(`${problems.join('\n')}\nuvu never runs these: move ${problems.length > 1 ? 'each' : 'the'} .run() below them.`);
  process.exit(1);
}
