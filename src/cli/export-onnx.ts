// `emostream export-onnx <model dir>`: write model.onnx beside the tfjs model and check that
// ONNX Runtime's posteriors match tfjs's.
import { parseArgs } from 'node:util';
import { CliError } from './errors.js';

const HELP = `usage: emostream export-onnx <model dir> [--out FILE] [--no-verify] [--tolerance X]

Converts a trained model directory (model.json + weights.bin + meta.json) to ONNX, with the
input normalisation folded in, and writes <model dir>/model.onnx. Afterwards it runs a few
windows through both tfjs and ONNX Runtime and fails if the posteriors differ by more than
the tolerance (default 1e-4).

options:
  --out FILE        write the ONNX file here instead
  --no-verify       skip the tfjs ↔ ONNX Runtime comparison
  --tolerance X     largest acceptable |difference| of a posterior (default 1e-4)`;

export async function run(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        'no-verify': { type: 'boolean', default: false },
        tolerance: { type: 'string', default: '1e-4' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new CliError('BAD_USAGE', `${(err as Error).message}\n\n${HELP}`, 2);
  }
  if (args.values.help) {
    console.log(HELP);
    return 0;
  }
  if (args.positionals.length !== 1) throw new CliError('BAD_USAGE', `expected one model directory\n\n${HELP}`, 2);
  const tolerance = Number(args.values.tolerance);
  if (!(tolerance >= 0)) throw new CliError('BAD_USAGE', `--tolerance must be a non-negative number, got '${args.values.tolerance}'`, 2);
  const [dir] = args.positionals;
  const { exportModelDir } = await import('../onnx/export.js');
  const t0 = performance.now();
  const r = await exportModelDir(dir, { out: args.values.out, verify: !args.values['no-verify'] });
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`wrote ${r.path} (${(r.bytes / 1e6).toFixed(2)} MB) in ${secs} s`);
  if (r.parity) {
    const ok = r.parity.maxAbsDiff <= tolerance;
    console.log(`ONNX Runtime vs tfjs on ${r.parity.windows} windows: max |Δposterior| = ${r.parity.maxAbsDiff.toExponential(2)} (${ok ? 'ok' : 'FAIL'}, tolerance ${tolerance})`);
    if (!ok) throw new CliError('EXPORT_MISMATCH', `the exported model disagrees with tfjs by ${r.parity.maxAbsDiff.toExponential(2)} (> ${tolerance}); please report this with the model's meta.json`);
  }
  return 0;
}
