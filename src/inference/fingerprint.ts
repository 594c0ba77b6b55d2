// Ties a model.onnx to the tfjs weights and normalisation it was exported from, so an engine
// never serves an ONNX file that is older than the model it sits beside (git checkouts do not
// keep file times, so a content hash is the only reliable test).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { modelPath } from '../model-dir.js';

export const FINGERPRINT_KEY = 'emostream.source_sha256';

/** sha256 over the weight files (in manifest order), the labels and the normalisation. */
export async function sourceFingerprint(dir: string): Promise<string> {
  const model = JSON.parse(await readFile(modelPath(dir, 'topology'), 'utf8')) as { weightsManifest: { paths: string[] }[] };
  const meta = JSON.parse(await readFile(modelPath(dir, 'meta'), 'utf8')) as { labels: unknown; norm: unknown };
  const h = createHash('sha256');
  for (const group of model.weightsManifest) for (const p of group.paths) h.update(await readFile(join(dir, p)));
  h.update(JSON.stringify({ labels: meta.labels, norm: meta.norm }));
  return h.digest('hex');
}

/** ModelProto.metadata_props (field 14) read without decoding the graph (field 7, skipped). */
export function readOnnxMetadata(bytes: Uint8Array): Record<string, string> {
  const r = protobuf.Reader.create(bytes);
  const out: Record<string, string> = {};
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 14 && (tag & 7) === 2) {
      const entry = protobuf.Reader.create(r.bytes());
      let key = '',
        value = '';
      while (entry.pos < entry.len) {
        const t = entry.uint32();
        if (t >>> 3 === 1) key = entry.string();
        else if (t >>> 3 === 2) value = entry.string();
        else entry.skipType(t & 7);
      }
      out[key] = value;
    } else {
      r.skipType(tag & 7);
    }
  }
  return out;
}
