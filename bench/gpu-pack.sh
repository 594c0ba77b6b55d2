#!/usr/bin/env bash
# Packs the GPU benchmark for a fresh GPU machine without Node.js, under 64 MiB, into DIR
# (default runs/gpu-pack, git-ignored): /work/shared/tools/device-pack's xz'd node binary,
# onnxruntime-node linux-x64 and Vulkan loader .debs, plus bench/gpu-bench.ts and
# scripts/webgpu-bisect.ts bundled with esbuild, the shipped models' model.onnx (and an
# untrained paper-width one), and a few Emo-DB WAVs. On the GPU machine:
#
#   bash DIR/run.sh            # writes DIR/gpu-bench.json and DIR/bisect.json, prints the log
#
# Here (no GPU) `bash DIR/run.sh --swiftshader` runs the same on SwiftShader: a correctness
# check of the pack, not a speed figure (narrowed, it takes minutes there instead of hours:
# GPU_BENCH_MODELS=basic-4 GPU_BENCH_ARGS="--batches 1,8 --parity 1,8 --seconds 0.1").
# usage: bench/gpu-pack.sh [DIR] [--no-paper]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$repo/runs/gpu-pack}")
paper=1; [ "${2:-}" = "--no-paper" ] && paper=0
pack=${DEVICE_PACK:-/work/shared/tools/device-pack}
wavs=${EMOSTREAM_WAV_DIR:-$repo/../shared/data/emodb/wav}
[ -x "$pack" ] || { echo "gpu-pack: $pack not found (set DEVICE_PACK)" >&2; exit 2; }
[ -d "$wavs" ] || { echo "gpu-pack: no WAV directory $wavs (set EMOSTREAM_WAV_DIR)" >&2; exit 2; }

mkdir -p "$out"
# device-pack keeps an existing node.xz; -6 packs it in a fraction of -9's time for ~2 MB more.
if [ ! -s "$out/node.xz" ]; then
  rm -f "$out/node.xz"
  xz -6 -T2 -c "$(readlink -f "$(command -v node)")" >"$out/node.xz.part" && mv "$out/node.xz.part" "$out/node.xz"
fi
# Packed once: delete DIR to repack node, onnxruntime-node and the debs.
if [ ! -f "$out/setup.sh" ] || ! ls "$out"/gl/*.deb >/dev/null 2>&1; then "$pack" "$out" "$repo" >/dev/null; fi
# What a run here left behind: setup.sh's unpacked library and the results.
so="$out/ort/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"
[ -f "$so.xz" ] && rm -f "$so"
rm -f "$out"/gpu-bench.json "$out"/gpu-bench.log "$out"/bisect.json "$out"/bisect.log
bundle() {
  # ESM import ignores NODE_PATH: the bundles live in ort/ beside ort/node_modules. tfjs and the
  # compressed-audio decoders are never reached (OnnxEngine only, WAV input); require() is for
  # the CommonJS parts (protobufjs).
  "$repo/node_modules/.bin/esbuild" "$1" --bundle --platform=node --format=esm --target=node20 --log-level=warning \
    --outfile="$out/ort/$2" --minify --external:onnxruntime-node --external:@tensorflow/* --external:tsx \
    --external:@wasm-audio-decoders/* --external:mpg123-decoder --external:ogg-opus-decoder --external:opus-decoder \
    --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
}
bundle "$repo/bench/gpu-bench.ts" gpu-bench.mjs
bundle "$repo/scripts/webgpu-bisect.ts" webgpu-bisect.mjs
cp "$repo/src/export/onnx.proto" "$out/ort/" # read beside the bundle (src/export/proto.ts)

rm -rf "$out/models" "$out/wav" && mkdir -p "$out/models" "$out/wav"
for m in basic-4 emodb-7; do
  mkdir -p "$out/models/$m" && cp "$repo/models/$m/model.onnx" "$repo/models/$m/meta.json" "$out/models/$m/"
done
if [ "$paper" = 1 ]; then
  # Speed does not depend on the weights; built once (tfjs) into runs/bench-models.
  (cd "$repo" && node --import tsx -e "import('./src/bench/models.ts').then((m) => m.paperWidthModel())" >/dev/null)
  mkdir -p "$out/models/paper-width-4"
  cp "$repo/runs/bench-models/paper-width-4/model.onnx" "$repo/runs/bench-models/paper-width-4/meta.json" "$out/models/paper-width-4/"
fi
# 60 files of Emo-DB speech (short utterances: 24 gave only 29 windows): 64+ distinct windows.
files=("$wavs"/*.wav)
cp "${files[@]:0:60}" "$out/wav/"

cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
# The GPU benchmark in one go: set up node + Vulkan (device-pack's setup.sh), then the provider
# comparison and the per-node parity bisection, each writing JSON here.
set -uo pipefail
d=$(cd "$(dirname "$0")" && pwd)
source "$d/setup.sh"
if [ "${1:-}" = "--swiftshader" ]; then export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json; unset VK_DRIVER_FILES; fi
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
# GPU_BENCH_MODELS (names under models/, comma-separated) and GPU_BENCH_ARGS narrow the run.
models=$(ls -d "$d"/models/* | paste -sd,)
[ -n "${GPU_BENCH_MODELS:-}" ] && models=$(echo "$GPU_BENCH_MODELS" | tr ',' '\n' | sed "s#^#$d/models/#" | paste -sd,)
cd "$d"
"$NODE" ort/gpu-bench.mjs --models "$models" --wav-dir "$d/wav" --out "$d/gpu-bench.json" ${GPU_BENCH_ARGS:-} 2>&1 | tee "$d/gpu-bench.log"
"$NODE" ort/webgpu-bisect.mjs --model "$d/models/basic-4" --batch 8 --wav-dir "$d/wav" --out "$d/bisect.json" 2>&1 | tee "$d/bisect.log"
RUN
chmod +x "$out/run.sh"
size=$(du -sb "$out" | cut -f1)
echo "gpu-pack: $((size / 1048576)) MiB in $out; on the GPU machine: bash $out/run.sh"
[ "$size" -lt $((64 * 1048576)) ] || { echo "gpu-pack: over 64 MiB" >&2; exit 1; }
