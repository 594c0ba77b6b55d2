// The microphone through node-record-lpcm16, which spawns sox's `rec`, `sox` or `arecord` and
// reads raw s16le from its stdout.
import { createRequire } from 'node:module';
import { Observable } from 'rxjs';
import { UserError } from '../errors.js';
import { PcmDecoder } from './pcm.js';
import type { AudioChunk } from './types.js';

export type RecorderName = 'rec' | 'sox' | 'arecord';

export interface MicrophoneOptions {
  /** Default 16000: recorders resample themselves, so this saves us the work. */
  sampleRate?: number;
  channels?: number;
  /** Default 'rec' (sox); 'arecord' for ALSA-only systems. */
  recorder?: RecorderName;
  /** Recorder-specific device name (AUDIODEV for sox, -D for arecord). */
  device?: string;
}

interface Recording {
  process: import('node:child_process').ChildProcess;
  stream(): NodeJS.ReadableStream;
  stop(): void;
}

const INSTALL_HINT: Record<RecorderName, string> = {
  rec: "install SoX (Debian/Ubuntu: apt-get install sox; macOS: brew install sox), which provides 'rec'",
  sox: 'install SoX (Debian/Ubuntu: apt-get install sox; macOS: brew install sox)',
  arecord: "install alsa-utils (Debian/Ubuntu: apt-get install alsa-utils), which provides 'arecord'",
};

const require = createRequire(import.meta.url);

export function microphone(opts: MicrophoneOptions = {}): Observable<AudioChunk> {
  const sampleRate = opts.sampleRate ?? 16000;
  const channels = opts.channels ?? 1;
  const recorder = opts.recorder ?? 'rec';
  return new Observable<AudioChunk>((sub) => {
    if (!(recorder in INSTALL_HINT)) {
      sub.error(new UserError('recorder_unknown', `unknown recorder '${recorder}' (use rec, sox or arecord)`));
      return;
    }
    const { record } = require('node-record-lpcm16') as { record(o: object): Recording };
    const decoder = new PcmDecoder('s16le', channels);
    const format = { sampleRate, channels };
    let stderr = '';
    let done = false;
    const fail = (err: unknown) => {
      if (done) return;
      done = true;
      sub.error(err);
    };
    let rec: Recording;
    try {
      rec = record({ sampleRate, channels, recorder, device: opts.device, audioType: 'raw' });
    } catch (err) {
      fail(new UserError('recorder_failed', `could not start '${recorder}': ${(err as Error).message}`));
      return;
    }
    const cp = rec.process;
    cp.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT')
        fail(new UserError('recorder_missing', `microphone recorder '${recorder}' was not found on PATH: ${INSTALL_HINT[recorder]}`));
      else fail(new UserError('recorder_failed', `could not start '${recorder}': ${err.message}`));
    });
    cp.stderr?.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-2000);
    });
    const out = rec.stream();
    out.on('data', (b: Buffer | string) => {
      if (done) return;
      const samples = decoder.push(typeof b === 'string' ? Buffer.from(b, 'binary') : b);
      if (samples.length > 0) sub.next({ format, samples });
    });
    // node-record-lpcm16 reports a non-zero exit as an 'error' on the stream (a string).
    out.on('error', () => {});
    cp.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      if (done) return;
      if (code === 0) {
        try {
          decoder.end();
        } catch (err) {
          fail(err);
          return;
        }
        done = true;
        sub.complete();
      } else {
        const why = stderr.trim().split('\n').slice(-3).join(' / ');
        fail(
          new UserError(
            'recorder_failed',
            `'${recorder}' exited with ${code !== null ? `code ${code}` : `signal ${signal}`}${why ? `: ${why}` : ''}`,
          ),
        );
      }
    });
    return () => {
      done = true;
      if (cp.exitCode === null && cp.signalCode === null) rec.stop();
    };
  });
}
