// The certificate and key for https + wss: read and checked before the model loads, so a wrong
// path or a key that does not match its certificate is a one-line coded error, not a stack.
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { UserError } from '../errors.js';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

export function readTls(files: TlsFiles): { cert: Buffer; key: Buffer } {
  const read = (flag: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new UserError('bad_config', `cannot read ${flag} '${path}': ${(err as Error).message}`);
    }
  };
  const cert = read('--tls-cert', files.certFile);
  const key = read('--tls-key', files.keyFile);
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new UserError(
      'bad_config',
      `--tls-cert '${files.certFile}' and --tls-key '${files.keyFile}' are not a PEM certificate and its private key (${(err as Error).message})`,
    );
  }
  return { cert, key };
}
