// Engine factory: the one place that maps an engine kind and provider to an implementation.
import { existsSync } from 'node:fs';
import type { Engine, EngineOptions, OrtProviderName } from './engine.js';
import { modelPath } from '../model-dir.js';
import { UserError } from '../errors.js';

export async function loadEngine(dir: string, opts: EngineOptions = {}): Promise<Engine> {
  // ONNX Runtime serves by default wherever the directory carries an exported model.onnx.
  const kind = opts.kind ?? (existsSync(modelPath(dir, 'onnx')) ? 'onnx' : 'tfjs');
  const provider = kind === 'onnx-cuda' ? 'cuda' : (opts.provider ?? 'cpu');
  if (provider !== 'cpu' && kind !== 'onnx' && kind !== 'onnx-cuda') {
    throw new UserError(
      'bad_config',
      kind === 'onnx-int8'
        ? `--provider ${provider}: the int8 model runs on the CPU provider only`
        : `--provider ${provider} needs the onnx engine (the model directory has no model.onnx, or --engine ${kind} was given)`,
    );
  }
  if (kind === 'onnx' || kind === 'onnx-cuda' || kind === 'onnx-int8') {
    if (provider === 'auto') {
      const { loadAutoEngine } = await import('./auto-provider.js');
      return loadAutoEngine(dir, { threads: opts.threads, batch: opts.autoBatch, log: opts.log });
    }
    const { OnnxEngine } = await import('./onnx-engine.js');
    const providers: OrtProviderName[] = [provider];
    const precision = kind === 'onnx-int8' ? ('int8' as const) : ('fp32' as const);
    if (opts.kind || provider !== 'cpu') {
      const engine = await OnnxEngine.load(dir, { threads: opts.threads, providers, precision });
      if (/software/.test(engine.backend))
        opts.log?.(`${engine.backend}: a CPU rasteriser, not a GPU; it is far slower than --provider cpu (docs/performance.md)`);
      return engine;
    }
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
