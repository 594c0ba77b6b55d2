// Engine factory: the one place that maps an engine kind to an implementation.
import { existsSync } from 'node:fs';
import type { Engine, EngineOptions } from './engine.js';
import { modelPath } from '../model-dir.js';
import { UserError } from '../errors.js';

export async function loadEngine(dir: string, opts: EngineOptions = {}): Promise<Engine> {
  // ONNX Runtime serves by default wherever the directory carries an exported model.onnx.
  const kind = opts.kind ?? (existsSync(modelPath(dir, 'onnx')) ? 'onnx' : 'tfjs');
  if (kind === 'onnx' || kind === 'onnx-cuda' || kind === 'onnx-int8') {
    const { OnnxEngine } = await import('./onnx-engine.js');
    const providers = kind === 'onnx-cuda' ? ['cuda' as const] : ['cpu' as const];
    const precision = kind === 'onnx-int8' ? ('int8' as const) : ('fp32' as const);
    if (opts.kind) return OnnxEngine.load(dir, { threads: opts.threads, providers, precision });
    try {
      return await OnnxEngine.load(dir, { threads: opts.threads, providers });
    } catch (err) {
      // Not asked for by name: a stale model.onnx must not stop the model from serving.
      if (!(err instanceof UserError && err.code === 'model_stale')) throw err;
      process.emitWarning(`${err.message}; serving with tfjs instead`, { code: 'EMOSTREAM_MODEL_STALE' });
    }
  }
  if (kind === 'tfjs' || kind === 'onnx') {
    const { TfjsEngine } = await import('./tfjs-engine.js');
    return TfjsEngine.load(dir);
  }
  throw new UserError('engine_unavailable', `engine '${kind}' is not available in this build`);
}
