// Raw PCM from any byte stream (stdin, a socket) with a format declared by the caller.
import { Observable } from 'rxjs';
import { UserError } from '../errors.js';
import { PcmDecoder, sanitize } from './pcm.js';
import type { AudioChunk, PcmFormat } from './types.js';

export function rawPcm(stream: NodeJS.ReadableStream, fmt: PcmFormat): Observable<AudioChunk> {
  return new Observable<AudioChunk>((sub) => {
    if (!Number.isFinite(fmt.sampleRate) || fmt.sampleRate <= 0) {
      sub.error(new UserError('pcm_bad_rate', `sample rate must be a positive number of Hz, got ${fmt.sampleRate}`));
      return;
    }
    let decoder: PcmDecoder;
    try {
      decoder = new PcmDecoder(fmt.encoding, fmt.channels);
    } catch (err) {
      sub.error(err);
      return;
    }
    const format = { sampleRate: fmt.sampleRate, channels: fmt.channels };
    const onData = (b: Buffer | string) => {
      const bytes = typeof b === 'string' ? Buffer.from(b, 'binary') : b;
      const samples = decoder.push(bytes);
      if (fmt.encoding === 'f32le') sanitize(samples);
      if (samples.length > 0) sub.next({ format, samples });
    };
    const onEnd = () => {
      try {
        decoder.end();
        sub.complete();
      } catch (err) {
        sub.error(err);
      }
    };
    const onError = (err: Error) => sub.error(new UserError('pcm_read_failed', `reading PCM input failed: ${err.message}`));
    // A socket destroyed without 'end' still ends the audio (after any 'error').
    const onClose = () => setImmediate(() => !sub.closed && onEnd());
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.once('close', onClose);
    return () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
  });
}
