// `emostream export-onnx <model dir>`: write model.onnx beside the tfjs model and check that
// ONNX Runtime's posteriors match tfjs's.
import { fileURLToPath } from 'node:url';
import { numberFlag, parseCommandLine } from './args.js';
import { CliError } from './errors.js';

const HELP = `usage: emostream export-onnx <model dir> [--out FILE] [--no-verify] [--tolerance X] [--int8 [--calibrate DIR]]

Converts a trained model directory (model.json + weights.bin + meta.json) to ONNX, with the
input normalisation folded in, and writes <model dir>/model.onnx. Afterwards it runs a few
windows through both tfjs and ONNX Runtime and fails if the posteriors differ by more than
the tolerance (default 1e-4).

options:
  --out FILE        write the ONNX file here instead
  --no-verify       skip the tfjs ↔ ONNX Runtime comparison
  --tolerance X     largest acceptable |difference| of a posterior (default 1e-4)
  --int8            also quantize the convolutions to int8 (about 3.5× faster on CPUs with
                    int8 dot-product instructions) and write <model dir>/model.int8.onnx;
                    serve it with --engine onnx-int8. Reports how far its posteriors are
                    from the float model's on held-out calibration windows
  --calibrate DIR   WAV files for the int8 activation ranges (default: Emo-DB at
                    ../shared/data/emodb/wav); use speech like what you will serve`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandLine(
    argv,
    {
      out: { type: 'string' },
      'no-verify': { type: 'boolean', default: false },
      tolerance: { type: 'string', default: '1e-4' },
      int8: { type: 'boolean', default: false },
      calibrate: { type: 'string' },
    },
    HELP,
  );
  if (!args) return 0;
  if (args.positionals.length !== 1) throw new CliError('usage', `expected one model directory\n\n${HELP}`, 2);
  const tolerance = numberFlag('tolerance', args.values.tolerance, { min: 0 }, 1e-4);
  const [dir] = args.positionals;
  const { exportModelDir } = await import('../export/export.js');
  const t0 = performance.now();
  if (args.values.calibrate && !args.values.int8) throw new CliError('usage', '--calibrate only applies with --int8', 2);
  const calibrationDir = args.values.calibrate ?? fileURLToPath(new URL('../../../shared/data/emodb/wav', import.meta.url));
  const r = await exportModelDir(dir, {
    out: args.values.out,
    verify: !args.values['no-verify'],
    int8: args.values.int8 ? { calibrationDir } : undefined,
  });
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`wrote ${r.path} (${(r.bytes / 1e6).toFixed(2)} MB) in ${secs} s`);
  if (r.int8) {
    console.log(
      `int8: ${r.int8.convs} convolutions quantized; on ${r.int8.windows} held-out windows max |Δposterior| vs tfjs = ${r.int8.maxAbsDiff.toFixed(4)}, same top class ${(100 * r.int8.argmaxAgreement).toFixed(1)}%`,
    );
  }
  if (r.parity) {
    const ok = r.parity.maxAbsDiff <= tolerance;
    console.log(
      `ONNX Runtime vs tfjs on ${r.parity.windows} windows: max |Δposterior| = ${r.parity.maxAbsDiff.toExponential(2)} (${ok ? 'ok' : 'FAIL'}, tolerance ${tolerance})`,
    );
    if (!ok)
      throw new CliError(
        'export_mismatch',
        `the exported model disagrees with tfjs by ${r.parity.maxAbsDiff.toExponential(2)} (> ${tolerance}); please report this with the model's meta.json`,
      );
  }
  return 0;
}
