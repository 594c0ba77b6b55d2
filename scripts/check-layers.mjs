#!/usr/bin/env node
// The layering rules of docs/architecture.md, checked on every import under src/ (static,
// type-only, re-exports and dynamic import()). Prints each violation and exits 1 if any.
// Plain Node, no dependencies: it runs before anything is built.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'src');

/** Each unit (a folder or a root file of src/) and its rank: a unit may import units of lower rank only. */
export const LAYERS = {
  'errors.ts': 0,
  util: 0,
  ingest: 1,
  dsp: 2,
  protocol: 2,
  client: 3,
  'model-config.ts': 3,
  'model-dir.ts': 4,
  model: 5,
  inference: 6,
  export: 7,
  bus: 7,
  train: 8,
  server: 8,
  bench: 9,
  cli: 10,
};

/** Units a unit may import, beyond the rank rule's limits (narrower lists). */
const ONLY = {
  client: ['protocol', 'errors.ts', 'util'],
};

/** Units a unit must never import, even where the ranks would allow it. */
const NEVER = {
  server: ['model', 'train', 'export'],
};

/** Entry points whose static import closure must not load tfjs (the ONNX serving path). */
const NO_TFJS_FROM = ['server/server.ts', 'inference/load-engine.ts', 'inference/onnx-engine.ts', 'cli/serve.ts'];

/** Entry points that must not load a bus client statically: a node without --bus pays nothing for it. */
const NO_BUS_CLIENT_FROM = ['server/server.ts', 'cli/serve.ts'];
const BUS_CLIENTS = ['ioredis'];

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The imports of a file: { spec, dynamic, typeOnly }. Comments are stripped first. */
function importsOf(file) {
  const text = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const out = [];
  for (const m of text.matchAll(IMPORT)) {
    if (m[3]) out.push({ spec: m[3], dynamic: true, typeOnly: false });
    else out.push({ spec: m[2], dynamic: false, typeOnly: Boolean(m[1]) });
  }
  return out;
}

function resolveSpec(from, spec) {
  if (!spec.startsWith('.')) return null;
  const p = resolve(dirname(from), spec).replace(/\.js$/, '.ts');
  return p;
}

/** Checks the tree under `src` (default: this project's src/). */
export function check(src = SRC) {
  const unitOf = (file) => relative(src, file).split('/')[0];
  const files = walk(src);
  const problems = [];
  const graph = new Map(); // file → static (incl. type) local imports
  const packages = new Map(); // file → static package imports
  for (const f of files) {
    const from = unitOf(f);
    const local = [];
    const pkgs = [];
    for (const imp of importsOf(f)) {
      const target = resolveSpec(f, imp.spec);
      if (!target) {
        if (!imp.dynamic && !imp.typeOnly) pkgs.push(imp.spec);
        continue;
      }
      if (!target.startsWith(src + '/')) {
        problems.push(`${relative(src, f)}: imports '${imp.spec}', outside src/`);
        continue;
      }
      if (!imp.dynamic) local.push({ target, typeOnly: imp.typeOnly });
      const to = unitOf(target);
      if (to === from) continue;
      const where = `${relative(src, f)} → ${relative(src, target)}`;
      if (!(from in LAYERS)) problems.push(`${relative(src, f)}: unit '${from}' has no layer in scripts/check-layers.mjs`);
      else if (!(to in LAYERS)) problems.push(`${where}: unit '${to}' has no layer`);
      else if (to === 'cli') problems.push(`${where}: nothing imports cli/`);
      else if (ONLY[from] && !ONLY[from].includes(to)) problems.push(`${where}: ${from}/ may import only ${ONLY[from].join(', ')}`);
      else if (NEVER[from]?.includes(to)) problems.push(`${where}: ${from}/ must not import ${to}/`);
      else if (LAYERS[to] >= LAYERS[from])
        problems.push(`${where}: imports upward or sideways (${from} ${LAYERS[from]} → ${to} ${LAYERS[to]})`);
    }
    graph.set(f, local);
    packages.set(f, pkgs);
  }
  // Cycles among the static imports (type-only included: a cycle of types is still a knot).
  const state = new Map();
  const stack = [];
  const visit = (f) => {
    state.set(f, 1);
    stack.push(f);
    for (const { target } of graph.get(f) ?? []) {
      if (!graph.has(target)) continue;
      if (state.get(target) === 1) {
        const cycle = stack
          .slice(stack.indexOf(target))
          .concat(target)
          .map((p) => relative(src, p));
        problems.push(`import cycle: ${cycle.join(' → ')}`);
      } else if (!state.get(target)) visit(target);
    }
    stack.pop();
    state.set(f, 2);
  };
  for (const f of files) if (!state.get(f)) visit(f);
  // The ONNX serving path must not load tfjs.
  for (const entry of NO_TFJS_FROM) {
    const start = join(src, entry);
    const seen = new Set([start]);
    const queue = [start];
    while (queue.length) {
      const f = queue.shift();
      const tf = (packages.get(f) ?? []).find((p) => p.startsWith('@tensorflow/'));
      if (tf) problems.push(`${entry} loads tfjs statically through ${relative(src, f)} ('${tf}'); import it dynamically`);
      for (const { target, typeOnly } of graph.get(f) ?? []) {
        if (!typeOnly && !seen.has(target)) {
          seen.add(target);
          queue.push(target);
        }
      }
    }
  }
  for (const entry of NO_BUS_CLIENT_FROM) {
    const start = join(src, entry);
    const seen = new Set([start]);
    const queue = [start];
    while (queue.length) {
      const f = queue.shift();
      const client = (packages.get(f) ?? []).find((p) => BUS_CLIENTS.includes(p));
      if (client)
        problems.push(`${entry} loads the bus client statically through ${relative(src, f)} ('${client}'); import it dynamically`);
      for (const { target, typeOnly } of graph.get(f) ?? []) {
        if (!typeOnly && !seen.has(target)) {
          seen.add(target);
          queue.push(target);
        }
      }
    }
  }
  return { files: files.length, problems };
}

/** Examples are written as a client application would be: they use the client and the protocol only. */
export const EXAMPLE_IMPORTS = ['client', 'protocol'];

/** Checks examples/ (default: this project's): imports of src/ limited to EXAMPLE_IMPORTS. */
export function checkExamples(examples = join(SRC, '..', 'examples'), src = SRC) {
  let files;
  try {
    files = walk(examples);
  } catch {
    return { files: 0, problems: [] };
  }
  const problems = [];
  for (const f of files) {
    for (const imp of importsOf(f)) {
      const target = resolveSpec(f, imp.spec);
      if (!target || !target.startsWith(src + '/')) continue;
      const unit = relative(src, target).split('/')[0];
      if (!EXAMPLE_IMPORTS.includes(unit))
        problems.push(
          `examples/${relative(examples, f)} → src/${relative(src, target)}: examples may import only ${EXAMPLE_IMPORTS.join(', ')}`,
        );
    }
  }
  return { files: files.length, problems };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const layers = check();
  const examples = checkExamples();
  const files = layers.files;
  const problems = [...layers.problems, ...examples.problems];
  for (const p of problems) console.error(`layers: ${p}`);
  console.log(`layers: ${files} files under src/, ${examples.files} under examples/, ${problems.length} violation(s)`);
  process.exit(problems.length ? 1 : 0);
}
