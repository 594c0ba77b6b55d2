// Calibration windows for int8 quantization: real speech from a directory of WAV files,
// played back to back (as a stream carries it) and cut into 300-frame windows at hop 1 s.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { computeFeatures } from '../dsp/features.js';
import { FRAME_SIZE, WINDOW_FRAMES } from '../dsp/types.js';
import { loadAudio16k } from '../dsp/load.js';

/** Up to `n` windows from the WAV files under `dir` (sorted, strided so speakers and classes mix). */
export async function calibrationWindows(dir: string, n: number): Promise<Float32Array[]> {
  if (!existsSync(dir)) throw new UserError('calibration_missing', `calibration audio directory ${dir} does not exist`);
  const files = readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.toLowerCase().endsWith('.wav'))
    .sort();
  if (files.length === 0) throw new UserError('calibration_missing', `no .wav files under ${dir}`);
  const want = (n + 2) * 16000 + WINDOW_FRAMES * 160;
  const parts: Float32Array[] = [];
  let have = 0;
  const stride = files.length > 37 ? 37 : 1;
  for (let i = 0; have < want && i < files.length; i++) {
    const s = await loadAudio16k(join(dir, files[(i * stride) % files.length]));
    parts.push(s);
    have += s.length;
  }
  const signal = new Float32Array(have);
  let o = 0;
  for (const p of parts) {
    signal.set(p, o);
    o += p.length;
  }
  const { frames, data } = computeFeatures(signal);
  const out: Float32Array[] = [];
  for (let s = 0; out.length < n && s + WINDOW_FRAMES <= frames; s += 100)
    out.push(data.slice(s * FRAME_SIZE, (s + WINDOW_FRAMES) * FRAME_SIZE));
  if (out.length === 0)
    throw new UserError('calibration_missing', `the audio under ${dir} is shorter than one ${WINDOW_FRAMES / 100} s window`);
  return out;
}
