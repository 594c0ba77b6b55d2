// The layering check (scripts/check-layers.mjs, run by CI) holds on this tree, and reports each
// kind of violation on a small tree built to break every rule.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
// @ts-expect-error: a plain .mjs script without type declarations
import { check, checkExamples } from '../scripts/check-layers.mjs';

type Result = { files: number; problems: string[] };

test('this project holds its layering rules', () => {
  const r = check() as Result;
  assert.ok(r.files > 50, `${r.files} files checked`);
  assert.equal(r.problems, []);
});

test('examples use the client and the protocol only', () => {
  assert.equal((checkExamples() as Result).problems, [], 'this project');
  const root = mkdtempSync(join(tmpdir(), 'emostream-examples-'));
  try {
    mkdirSync(join(root, 'src'));
    mkdirSync(join(root, 'examples'));
    writeFileSync(
      join(root, 'examples', 'ok.ts'),
      "import { Publisher } from '../src/client/client.js';\nimport type { M } from '../src/protocol/messages.js';\n",
    );
    writeFileSync(join(root, 'examples', 'bad.ts'), "import { Session } from '../src/server/session.js';\n");
    const { files, problems } = checkExamples(join(root, 'examples'), join(root, 'src')) as Result;
    assert.is(files, 2);
    assert.equal(problems, ['examples/bad.ts → src/server/session.ts: examples may import only client, protocol']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('each kind of violation is reported', () => {
  const src = mkdtempSync(join(tmpdir(), 'emostream-layers-'));
  const put = (path: string, text: string) => {
    mkdirSync(dirname(join(src, path)), { recursive: true });
    writeFileSync(join(src, path), text);
  };
  try {
    put('errors.ts', 'export class UserError extends Error {}\n');
    put('dsp/a.ts', "import { b } from './b.js';\nexport const a = 1;\n");
    put('dsp/b.ts', "import { a } from './a.js';\nexport const b = a;\n");
    put('dsp/up.ts', "import { x } from '../inference/engine.js';\n");
    put('client/c.ts', "import type { S } from '../server/server.js';\n");
    put('server/server.ts', "import { m } from '../model/tf.js';\n");
    put('model/tf.ts', "import * as tf from '@tensorflow/tfjs';\nexport const m = tf;\n");
    put('inference/engine.ts', "export const x = 1;\n// import { no } from '../cli/main.js';\n");
    put('inference/load-engine.ts', "export const y = () => import('../model/tf.js');\n");
    put('inference/onnx-engine.ts', 'export {};\n');
    put('train/t.ts', "import { z } from '../cli/main.js';\n");
    put('cli/main.ts', 'export const z = 1;\n');
    put('cli/serve.ts', 'export {};\n');
    const { problems } = check(src) as Result;
    const has = (re: RegExp) =>
      assert.ok(
        problems.some((p) => re.test(p)),
        `expected ${re} in:\n${problems.join('\n')}`,
      );
    has(/import cycle: dsp\/a\.ts → dsp\/b\.ts → dsp\/a\.ts/);
    has(/dsp\/up\.ts → inference\/engine\.ts: imports upward/);
    has(/client\/c\.ts → server\/server\.ts: client\/ may import only/);
    has(/server\/server\.ts → model\/tf\.ts: server\/ must not import model\//);
    has(/server\/server\.ts loads tfjs statically/);
    has(/train\/t\.ts → cli\/main\.ts: nothing imports cli\//);
    // A dynamic import of tfjs from the engine loader and a commented-out import are allowed.
    assert.not.ok(
      problems.some((p) => /load-engine|inference\/engine\.ts →/.test(p)),
      problems.join('\n'),
    );
    assert.is(problems.length, 6, problems.join('\n'));
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
});

test.run();
