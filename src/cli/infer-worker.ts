// emostream infer-worker: computes inference batches for `serve --engine remote` nodes (docs/deploy.md).
import { hostname } from 'node:os';
import { InferWorker } from '../bus/infer-worker.js';
import type { EngineKind } from '../inference/engine.js';
import { loadEngine } from '../inference/load-engine.js';
import { parseCommandLine } from './args.js';
import { CliError } from './errors.js';

const HELP = `usage: emostream infer-worker --bus <redis-url> [options]

Takes inference requests from every 'serve --engine remote' node on the bus (each request goes to
one worker), batches them across nodes and sessions, and returns the posteriors. Run several for
capacity or redundancy; a request a worker never answers is computed or reported by its node
after its deadline. SIGTERM/SIGINT stop it.

options:
  --bus <url>          Redis URL, e.g. redis://127.0.0.1:6379 (or EMOSTREAM_BUS)
  --model <dir>        model directory (the nodes' model) [models/basic-4]
  --engine <kind>      tfjs, onnx, onnx-int8, onnx-cuda [auto]
  --threads <n>        engine threads
  --max-batch <n>      most windows per batch, across requests [32]
  --name <name>        this worker's name in the consumer group [host-pid]
  -h, --help           show this help`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    argv,
    {
      bus: { type: 'string' },
      model: { type: 'string' },
      engine: { type: 'string' },
      threads: { type: 'string' },
      'max-batch': { type: 'string' },
      name: { type: 'string' },
    },
    HELP,
  );
  if (!parsed) return 0;
  const o = parsed.values;
  const url = (o.bus as string | undefined) ?? process.env.EMOSTREAM_BUS;
  if (!url || !/^rediss?:\/\/\S+$/.test(url)) throw new CliError('usage', `--bus must be a redis:// URL, got '${url ?? ''}'`, 2);
  const maxBatch = o['max-batch'] === undefined ? 32 : Number(o['max-batch']);
  if (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > 1024)
    throw new CliError('usage', `--max-batch must be an integer in 1..1024, got '${o['max-batch']}'`, 2);
  const threads = o.threads === undefined ? undefined : Number(o.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1))
    throw new CliError('usage', `--threads must be a positive integer, got '${o.threads}'`, 2);
  const engine = await loadEngine((o.model as string | undefined) ?? 'models/basic-4', {
    kind: o.engine as EngineKind | undefined,
    threads,
  });
  const name = (o.name as string | undefined) ?? `${hostname()}-${process.pid}`;
  const worker = await InferWorker.start({ url, engine, name, maxBatch }).catch(async (err) => {
    await engine.dispose();
    throw err;
  });
  console.log(`emostream: infer-worker ${name} serving ${engine.model} (${engine.backend}) for ${url}`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await worker.close();
  await engine.dispose();
  console.log(`emostream: infer-worker ${name} stopped: ${worker.stats.windows} windows in ${worker.stats.batches} batches`);
  return 0;
}
