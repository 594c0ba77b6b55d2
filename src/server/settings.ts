// A `start` message → validated audio format and session settings, with the documented
// defaults (docs/protocol.md). Every problem is a UserError with a protocol error code.
import { randomBytes } from 'node:crypto';
import { UserError } from '../errors.js';
import { onFrameGrid } from '../dsp/stream-front-end.js';
import { FRAME_MS } from '../dsp/types.js';
import { DEFAULT_VAD } from '../dsp/vad.js';
import type { WireFormat } from '../ingest/types.js';
import { isSampleEncoding, SAMPLE_ENCODINGS } from '../ingest/pcm.js';
import { isOpusRate, OPUS_RATES } from '../ingest/opus.js';
import type { ChannelMode, SmoothingSettings, StartMsg } from '../protocol/messages.js';

export interface SessionSettings {
  session: string;
  format: WireFormat;
  channelMode: ChannelMode;
  hopMs: number;
  /** Early-window threshold, ms; undefined = no early windows. */
  minWindowMs: number | undefined;
  posteriors: boolean;
  smoothing: Required<SmoothingSettings>;
}

export const DEFAULT_HOP_MS = 1000;
export const DEFAULT_SMOOTHING: Required<SmoothingSettings> = {
  // Chosen by scripts/tune-heldout.ts on Emo-DB speakers 03, 08, 09, 10, 11 with a model that
  // never heard Emo-DB (before: τ 500, margin 0.2, dwell 500, chosen on RAVDESS actors 1–12 with
  // a model trained on them); docs/results.md, "Emotion events".
  timeConstantMs: 1000,
  margin: 0.1,
  dwellMs: 0,
  minSpeech: 0.25,
  firstEventSpeechMs: 1000,
  vadThresholdDb: DEFAULT_VAD.thresholdDb,
  vadMinDbfs: DEFAULT_VAD.minDbfs,
};

const SMOOTHING_RANGES: Record<keyof SmoothingSettings, [number, number]> = {
  timeConstantMs: [0, 60000],
  margin: [0, 1],
  dwellMs: [0, 60000],
  minSpeech: [0, 1],
  firstEventSpeechMs: [0, 3000],
  vadThresholdDb: [0, 60],
  vadMinDbfs: [-120, 0],
};

const SESSION_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export function isSessionId(s: string): boolean {
  return SESSION_ID.test(s);
}

function inRange(name: string, v: number, lo: number, hi: number, code = 'invalid_start'): number {
  if (!Number.isFinite(v) || v < lo || v > hi) throw new UserError(code, `${name} must be a number in ${lo}..${hi}, got ${v}`);
  return v;
}

function msOnGrid(name: string, v: number): number {
  inRange(name, v, 100, 3000);
  if (!onFrameGrid(v))
    throw new UserError('invalid_start', `${name} must be a multiple of ${FRAME_MS} ms (the feature frame hop), got ${v}`);
  return v;
}

export function resolveStart(msg: StartMsg): SessionSettings {
  const a = msg.audio;
  if (!a) throw new UserError('invalid_start', "'start' must declare the audio format: audio: {sampleRate, encoding, channels}");
  if (!isSampleEncoding(a.encoding) && a.encoding !== 'opus') {
    throw new UserError(
      'unsupported_format',
      `unsupported audio encoding '${a.encoding}' (use ${[...SAMPLE_ENCODINGS, 'opus'].map((e) => `"${e}"`).join(', ')})`,
    );
  }
  if (a.encoding === 'opus') {
    if (!isOpusRate(a.sampleRate))
      throw new UserError(
        'unsupported_format',
        `Opus is decoded at ${OPUS_RATES.join(', ')} Hz; sampleRate ${a.sampleRate} is none of them`,
      );
    if (a.channels !== 1 && a.channels !== 2)
      throw new UserError('unsupported_format', `Opus packets carry 1 or 2 channels, not ${a.channels}`);
  }
  if (!Number.isInteger(a.sampleRate) || a.sampleRate < 8000 || a.sampleRate > 192000) {
    throw new UserError('unsupported_format', `unsupported sample rate ${a.sampleRate} Hz (use an integer in 8000..192000)`);
  }
  if (!Number.isInteger(a.channels) || a.channels < 1 || a.channels > 8) {
    throw new UserError('unsupported_format', `unsupported channel count ${a.channels} (use 1..8)`);
  }
  // 128 random bits: an id the server picks cannot be guessed (it is what a viewer needs).
  const session = msg.session ? msg.session : randomBytes(16).toString('base64url');
  if (!isSessionId(session))
    throw new UserError('invalid_start', `session id must be 1..64 characters of A-Z a-z 0-9 _ . -, got '${session}'`);
  const channelMode = msg.channelMode ?? 'mix';
  if (channelMode !== 'mix' && channelMode !== 'separate')
    throw new UserError('invalid_start', `channelMode must be "mix" or "separate", got '${String(channelMode)}'`);
  const smoothing = { ...DEFAULT_SMOOTHING };
  for (const [k, v] of Object.entries(msg.smoothing ?? {})) {
    if (v === undefined || v === null) continue;
    const range = SMOOTHING_RANGES[k as keyof SmoothingSettings];
    if (!range) continue;
    smoothing[k as keyof SmoothingSettings] = inRange(`smoothing.${k}`, v as number, range[0], range[1]);
  }
  return {
    session,
    format: { sampleRate: a.sampleRate, encoding: a.encoding, channels: a.channels },
    channelMode,
    hopMs: msg.hopMs == null ? DEFAULT_HOP_MS : msOnGrid('hopMs', msg.hopMs),
    minWindowMs: msg.minWindowMs == null || msg.minWindowMs === 0 ? undefined : msOnGrid('minWindowMs', msg.minWindowMs),
    posteriors: msg.posteriors ?? true,
    smoothing,
  };
}

/** Longest a subscriber may wait for a session to start (`?wait=`), ms. */
export const MAX_WAIT_MS = 300_000;

/** A subscriber's `?wait=` ("30s", "500ms", "2m", or plain seconds) in ms; 0 when absent. */
export function parseWait(raw: string | null): number {
  if (raw === null || raw === '') return 0;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
  const ms = m ? Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000) : NaN;
  if (!(ms >= 0 && ms <= MAX_WAIT_MS)) {
    throw new UserError('invalid_wait', `?wait= must be a duration up to ${MAX_WAIT_MS / 1000}s such as 30s or 500ms, got '${raw}'`);
  }
  return Math.round(ms);
}
