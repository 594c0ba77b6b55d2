// The serving engine on CPU, a GPU through ONNX Runtime's WebGPU provider (Dawn over Vulkan,
// bundled with onnxruntime-node), or CUDA where the user installed it: the exported model.onnx
// run by ONNX Runtime for Node. The graph has the input normalisation folded in, so raw
// feature windows go straight in; the batch dimension is dynamic.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { UserError } from '../errors.js';
import { FRAME_SIZE, N_CHANNELS, N_MELS, WINDOW_FRAMES, WINDOW_SIZE } from '../dsp/types.js';
import { FINGERPRINT_KEY, readOnnxMetadata, sourceFingerprint } from './fingerprint.js';
import { createSession, runBatch, type OrtProvider, type OrtSessionOptions } from './ort-session.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './ort-session-worker.js';
import type { Engine } from './engine.js';
import { MODEL_FILES, modelName, modelPath, readMeta } from '../model-dir.js';
import { meanNormalized, type Normalization } from '../dsp/normalize.js';
import { spawnWorker } from '../util/spawn-worker.js';
import { vulkanDrivers } from './vulkan-drivers.js';

export interface OnnxEngineOptions extends OrtSessionOptions {
  /** 'int8' loads model.int8.onnx (export-onnx --int8) instead of model.onnx. */
  precision?: 'fp32' | 'int8';
  /** Run ORT in a worker thread (default true): the Node binding computes synchronously on
   *  the calling thread, so in-thread inference stalls every socket for the batch's duration. */
  worker?: boolean;
}

const WINDOW_SHAPE = [WINDOW_FRAMES, N_MELS, N_CHANNELS];

interface Runner {
  run(input: Float32Array, n: number): Promise<{ data: Float32Array; classes: number }>;
  dispose(): Promise<void>;
}

function inThreadRunner(session: ort.InferenceSession): Runner {
  return {
    run: (input, n) => runBatch(session, input, n, WINDOW_SHAPE),
    dispose: () => session.release(),
  };
}

async function workerRunner(modelPath: string, options: OrtSessionOptions): Promise<Runner> {
  const workerData = { modelPath, options, windowShape: WINDOW_SHAPE } satisfies WorkerInit;
  const worker = spawnWorker('./ort-session-worker', import.meta.url, workerData);
  const pending = new Map<number, { resolve(r: WorkerReply): void; reject(e: Error): void }>();
  let nextId = 1;
  let failure: Error | undefined;
  try {
    await new Promise<void>((ready, fail) => {
      worker.once('message', (m: WorkerReply) => {
        if ('ready' in m && m.ready) ready();
        // The raw message: load() tells a provider that cannot start from a bad model file.
        else fail(new Error('error' in m ? m.error : 'unknown error'));
      });
      worker.once('error', fail);
    });
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  worker.on('message', (m: WorkerReply) => {
    if (!('id' in m)) return;
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (pending.size === 0) worker.unref();
    p?.resolve(m);
  });
  const failAll = (err: Error) => {
    failure = err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('error', failAll);
  worker.on('exit', () => failAll(new Error('ONNX worker exited')));
  // An idle engine must not keep the process alive; a pending request must.
  worker.unref();
  const call = (req: WorkerRequest, transfer: ArrayBuffer[] = []) =>
    new Promise<WorkerReply>((res, rej) => {
      if (failure) return rej(failure);
      pending.set(req.id, { resolve: res, reject: rej });
      worker.ref();
      worker.postMessage(req, transfer);
    });
  return {
    async run(input, n) {
      const r = await call({ id: nextId++, input, n }, [input.buffer as ArrayBuffer]);
      if ('ok' in r && r.ok) return { data: r.data, classes: r.classes };
      throw new Error(`ONNX inference failed: ${'error' in r ? r.error : 'unknown error'}`);
    },
    async dispose() {
      if (!failure) await call({ id: nextId++, dispose: true }).catch(() => undefined);
      await worker.terminate();
    },
  };
}

/** Refuses a model.onnx exported from other weights or normalisation than the directory's. */
async function checkFresh(modelDir: string, onnxPath: string): Promise<Record<string, string>> {
  const metadata = readOnnxMetadata(await readFile(onnxPath));
  if (!existsSync(modelPath(modelDir, 'topology'))) return metadata; // an ONNX-only directory: nothing to compare
  const recorded = metadata[FINGERPRINT_KEY];
  let current: string;
  try {
    current = await sourceFingerprint(modelDir);
  } catch (err) {
    throw new UserError('model_invalid', `${modelDir}: cannot read the model files (${(err as Error).message})`);
  }
  if (recorded !== current) {
    const int8 = metadata['emostream.quantization'] !== undefined ? ' --int8' : '';
    throw new UserError(
      'model_stale',
      `${onnxPath} was not exported from this directory's current weights; run 'emostream export-onnx ${modelDir}${int8}'`,
    );
  }
  return metadata;
}

/** "webgpu", or "webgpu(software: SwiftShader)" where the only Vulkan drivers are CPU rasterisers. */
function webgpuLabel(): string {
  const d = vulkanDrivers();
  return d.adapter === 'software' ? `webgpu(software: ${d.softwareNames.join(', ')})` : 'webgpu';
}

/** A provider that failed to start, as the coded error that says what the machine lacks. */
function providerUnavailable(provider: OrtProvider, message: string): UserError | undefined {
  if (provider === 'cuda' && /cuda|providers_shared/i.test(message))
    return new UserError(
      'provider_unavailable',
      "ONNX Runtime's CUDA provider is not installed (onnxruntime-node ships CPU-only unless installed with CUDA; see docs/performance.md)",
    );
  if (provider === 'webgpu' && /webgpu_|adapter|vulkan|dawn/i.test(message)) {
    const d = vulkanDrivers();
    const why =
      d.adapter === 'none'
        ? "no Vulkan driver was found (install your GPU vendor's Vulkan driver and libvulkan1)"
        : /adapter/i.test(message)
          ? 'no Vulkan adapter could be opened (is libvulkan1 installed, and the GPU driver loaded?)'
          : message.split('\n')[0].slice(0, 300);
    return new UserError('provider_unavailable', `ONNX Runtime's WebGPU provider cannot start: ${why}; see docs/performance.md`);
  }
  return undefined;
}

export class OnnxEngine implements Engine {
  private disposed = false;

  private constructor(
    readonly backend: string,
    readonly provider: OrtProvider,
    readonly model: string,
    readonly labels: readonly string[],
    private readonly runner: Runner,
    /** The graph z-scores; this part of the normalisation happens before it. */
    private readonly norm: Pick<Normalization, 'windowMean'>,
  ) {}

  static async load(dir: string, opts: OnnxEngineOptions = {}): Promise<OnnxEngine> {
    const modelDir = resolve(dir);
    const onnxPath = join(modelDir, MODEL_FILES[opts.precision === 'int8' ? 'onnxInt8' : 'onnx']);
    if (!existsSync(onnxPath)) {
      throw new UserError(
        'model_not_found',
        `${onnxPath} does not exist (run 'emostream export-onnx ${dir}${opts.precision === 'int8' ? ' --int8' : ''}' to create it)`,
      );
    }
    const { labels, norm } = await readMeta(modelDir);
    const metadata = await checkFresh(modelDir, onnxPath);
    const int8 = metadata['emostream.quantization'] !== undefined;
    const threads = Math.max(1, Math.floor(opts.threads ?? 1));
    const providers: OrtProvider[] = [...(opts.providers ?? ['cpu'])];
    const options: OrtSessionOptions = { threads, providers };
    let runner: Runner;
    try {
      runner = opts.worker === false ? inThreadRunner(await createSession(onnxPath, options)) : await workerRunner(onnxPath, options);
    } catch (err) {
      const message = (err as Error).message;
      const unavailable = providerUnavailable(providers[0], message);
      if (unavailable) throw unavailable;
      if (err instanceof UserError) throw err;
      throw new UserError('model_invalid', `ONNX Runtime cannot load ${onnxPath}: ${message}`);
    }
    const where =
      providers[0] === 'cuda'
        ? 'cuda'
        : providers[0] === 'webgpu'
          ? webgpuLabel()
          : `cpu(${threads} thread${threads > 1 ? 's' : ''}${int8 ? ', int8' : ''})`;
    return new OnnxEngine(`onnxruntime-${where}`, providers[0], modelName(modelDir), labels, runner, { windowMean: norm.windowMean });
  }

  async infer(windows: readonly Float32Array[]): Promise<Float32Array[]> {
    if (this.disposed) throw new Error('engine disposed');
    if (windows.length === 0) return [];
    const input = new Float32Array(windows.length * WINDOW_SIZE);
    windows.forEach((w, i) => {
      if (w.length !== WINDOW_SIZE) {
        throw new UserError(
          'bad_window',
          `a feature window has ${w.length} values, expected ${WINDOW_SIZE} (${WINDOW_FRAMES}×${N_MELS}×${N_CHANNELS})`,
        );
      }
      input.set(meanNormalized(w, this.norm), i * WINDOW_SIZE);
    });
    const { data, classes } = await this.runner.run(input, windows.length);
    if (classes !== this.labels.length) {
      throw new UserError('model_invalid', `model.onnx gives ${classes} classes but meta.json lists ${this.labels.length} labels`);
    }
    return windows.map((_, i) => data.slice(i * classes, (i + 1) * classes));
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.runner.dispose();
  }
}

export function loadOnnxEngine(dir: string, opts?: OnnxEngineOptions): Promise<OnnxEngine> {
  return OnnxEngine.load(dir, opts);
}
