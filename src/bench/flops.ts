// Floating-point operations per window of an STA-CRNN configuration (a multiply-add counts as
// two), from the architecture alone: the yardstick for "how close to the machine's limit".
import type { StaCrnnConfig } from '../model/sta-crnn.js';
import { N_CHANNELS, N_MELS, WINDOW_FRAMES } from '../dsp/types.js';

export interface FlopCount {
  conv: number;
  attention: number;
  lstm: number;
  other: number;
  total: number;
}

const scaled = (n: number, w: number) => Math.max(1, Math.round(n * w));

export function staCrnnFlops(c: StaCrnnConfig): FlopCount {
  let h = WINDOW_FRAMES,
    w = N_MELS,
    ch = N_CHANNELS;
  let conv = 0,
    attention = 0,
    lstm = 0,
    other = 0;
  const sa = c.variant === 'sta-crnn' || c.variant === 'base2' || c.variant === 'base4';
  const ta = c.variant === 'sta-crnn' || c.variant === 'base3' || c.variant === 'base4';
  const spatial = () => {
    attention += h * w * (2 * ch + c.spatialKernel ** 2 * 2 * 2 + ch);
  };
  if (sa && c.attentionPosition === 7) spatial();
  c.convChannels.forEach((base, i) => {
    const out = scaled(base, c.width);
    conv += 2 * h * w * c.kernel[0] * c.kernel[1] * ch * out;
    ch = out;
    if (c.poolAfter.includes(i + 1)) {
      h = Math.floor(h / c.pool[0]);
      w = Math.floor(w / c.pool[1]);
    }
    if (sa && c.attentionPosition === i + 1) spatial();
  });
  const units = scaled(c.lstmUnits, c.width);
  const [steps, inputs] = c.variant === 'base4' ? [WINDOW_FRAMES, N_MELS * N_CHANNELS] : [h, w * ch];
  lstm = steps * 2 * 4 * units * (inputs + units) * 2;
  const d = 2 * units;
  if (ta) attention += steps * d * 4;
  other = 2 * (c.variant === 'base4' ? d + ch : d) * c.numClasses;
  return { conv, attention, lstm, other, total: conv + attention + lstm + other };
}
