// --provider: Vulkan driver detection (a software adapter is told apart from a GPU), coded errors
// when a provider cannot start, 'auto' keeping the CPU provider over SwiftShader, the flag's
// parsing, and /healthz and /metrics naming the provider.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vulkanDrivers } from '../src/inference/vulkan-drivers.js';
import { loadEngine } from '../src/inference/load-engine.js';
import { resolveServeConfig } from '../src/server/config.js';
import { EmostreamServer } from '../src/server/server.js';
import { UserError } from '../src/errors.js';
import { TestEngine } from './helpers/server-engine.js';

const tmp = mkdtempSync(join(tmpdir(), 'emostream-provider-'));
const MODEL = new URL('../models/basic-4', import.meta.url).pathname;
test.after(() => rmSync(tmp, { recursive: true, force: true }));

function manifest(name: string, library: string): string {
  const p = join(tmp, name);
  writeFileSync(p, JSON.stringify({ file_format_version: '1.0.0', ICD: { library_path: library, api_version: '1.3.0' } }));
  return p;
}

test('Vulkan drivers: SwiftShader and lavapipe are software, a vendor driver with a GPU is hardware, none is none', () => {
  const gpu = ['/dev/dri/renderD128'];
  const sw = manifest('vk_swiftshader_icd.json', './libvk_swiftshader.so');
  const lvp = manifest('lvp_icd.x86_64.json', '/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so');
  const nv = manifest('nvidia_icd.json', 'libGLX_nvidia.so.0');
  const a = vulkanDrivers({ VK_ICD_FILENAMES: `${sw}:${lvp}` }, gpu);
  assert.is(a.adapter, 'software');
  assert.equal(a.softwareNames, ['SwiftShader', 'lavapipe']);
  assert.is(vulkanDrivers({ VK_DRIVER_FILES: `${sw}:${nv}` }, ['/dev/nvidia0']).adapter, 'hardware');
  // mesa-vulkan-drivers installs the radeon/intel ICDs on machines without those GPUs.
  assert.is(vulkanDrivers({ VK_DRIVER_FILES: `${sw}:${nv}` }, []).adapter, 'software');
  assert.is(vulkanDrivers({ VK_DRIVER_FILES: nv }, []).adapter, 'none');
  assert.is(vulkanDrivers({ VK_ICD_FILENAMES: join(tmp, 'missing.json') }, gpu).adapter, 'none');
  // A directory of manifests, as the loader's search path holds them.
  const dir = join(tmp, 'icd.d');
  mkdirSync(dir);
  writeFileSync(join(dir, 'radeon_icd.x86_64.json'), JSON.stringify({ ICD: { library_path: 'libvulkan_radeon.so' } }));
  writeFileSync(join(dir, 'broken.json'), '{');
  const d = vulkanDrivers({ VK_ICD_FILENAMES: dir }, gpu);
  assert.is(d.adapter, 'hardware');
  assert.is(d.drivers.length, 1);
});

test('--provider: parsed from flag and environment, bad values refused with bad_config', () => {
  assert.is(resolveServeConfig({}, {}).provider, 'cpu');
  assert.is(resolveServeConfig({ provider: 'webgpu' }, {}).provider, 'webgpu');
  assert.is(resolveServeConfig({}, { EMOSTREAM_PROVIDER: 'auto' }).provider, 'auto');
  try {
    resolveServeConfig({ provider: 'gpu' }, {});
    assert.unreachable('accepted --provider gpu');
  } catch (err) {
    assert.is((err as UserError).code, 'bad_config');
  }
});

test('a provider that cannot start is a coded error; --provider with the int8 model is refused', async () => {
  const cuda = await loadEngine(MODEL, { provider: 'cuda' }).then(
    (e) => e,
    (e: Error) => e,
  );
  // On a machine with the CUDA build this loads; on the CPU-only npm build it must say why.
  if (cuda instanceof Error) assert.is((cuda as UserError).code, 'provider_unavailable', cuda.message);
  else await cuda.dispose();
  const int8 = await loadEngine(MODEL, { kind: 'onnx-int8', provider: 'webgpu' }).catch((e: UserError) => e);
  assert.is((int8 as UserError).code, 'bad_config');
});

test('auto never picks a software adapter: SwiftShader only → the CPU provider, and one log line says why', async () => {
  const saved = process.env.VK_ICD_FILENAMES;
  process.env.VK_ICD_FILENAMES = manifest('vk_swiftshader_icd.json', './libvk_swiftshader.so');
  const lines: string[] = [];
  try {
    const e = await loadEngine(MODEL, { provider: 'auto', autoBatch: 2, log: (l) => lines.push(l) });
    try {
      assert.is(e.provider, 'cpu');
      assert.match(e.backend, /^onnxruntime-cpu/);
    } finally {
      await e.dispose();
    }
  } finally {
    if (saved === undefined) delete process.env.VK_ICD_FILENAMES;
    else process.env.VK_ICD_FILENAMES = saved;
  }
  assert.is(lines.length, 1);
  assert.match(lines[0], /^provider auto: cpu .*webgpu skipped \(software Vulkan adapter only: SwiftShader\)/);
});

test('/healthz and /metrics name the provider', async () => {
  const engine = Object.assign(new TestEngine(), { provider: 'webgpu' as const });
  const server = new EmostreamServer({ engine, port: 0 });
  const { port } = await server.listen();
  try {
    const health = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
    assert.is(health.provider, 'webgpu');
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, 'emostream_engine_info{model="test-4",backend="test",provider="webgpu"} 1');
  } finally {
    await server.close();
  }
});

test.run();
