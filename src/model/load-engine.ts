// Engine factory: the one place that maps an engine kind to an implementation.
import type { Engine, EngineOptions } from './engine.js';
import { UserError } from '../cli/errors.js';

export async function loadEngine(dir: string, opts: EngineOptions = {}): Promise<Engine> {
  const kind = opts.kind ?? 'tfjs';
  if (kind === 'tfjs') {
    const { TfjsEngine } = await import('./tfjs-engine.js');
    return TfjsEngine.load(dir);
  }
  throw new UserError('ENGINE_UNAVAILABLE', `engine '${kind}' is not available in this build`);
}
