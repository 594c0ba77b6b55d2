// The feature contract shared by training and serving (docs/features.md defines it exactly).

export const SAMPLE_RATE = 16000;
export const FRAME_LENGTH = 400; // 25 ms
export const FRAME_HOP = 160; // 10 ms
export const N_MELS = 40;
export const N_CHANNELS = 3; // static, Δ, ΔΔ
/** Floats per feature frame, laid out [mel][channel] (index mel * 3 + channel). */
export const FRAME_SIZE = N_MELS * N_CHANNELS;
export const WINDOW_FRAMES = 300; // 3 s
/** Floats in one model window, [300][40][3]. */
export const WINDOW_SIZE = WINDOW_FRAMES * FRAME_SIZE;
export const FRAME_MS = (FRAME_HOP / SAMPLE_RATE) * 1000; // 10 ms

/** A 300-frame model input, [300][40][3] row-major (NHWC without N), in stream time. */
export interface FeatureWindow {
  /** 0, 1, 2… within the stream. */
  seq: number;
  /** Index of the window's first frame in the stream. */
  startFrame: number;
  /** Index one past the last real (not padded) frame. */
  endFrame: number;
  /** startFrame * 10 ms. */
  startMs: number;
  /** Stream time of the end of the last real frame's hop: endFrame * 10 ms. */
  endMs: number;
  /** Frames of real audio in the window; the rest (at the end) are zeros. */
  validFrames: number;
  /** Float32Array of WINDOW_SIZE values. */
  data: Float32Array;
  /** Set on the extra early windows (featureWindows' minFrames option); absent otherwise. */
  early?: boolean;
}
