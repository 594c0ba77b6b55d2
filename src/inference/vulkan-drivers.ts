// Which Vulkan drivers ONNX Runtime's WebGPU provider (Dawn over Vulkan) can reach, read the
// way the Vulkan loader finds them: the ICD manifests it would load. ONNX Runtime for Node does
// not report the adapter it picked, and a software rasteriser (SwiftShader, lavapipe) runs the
// model correctly but far slower than the CPU provider, so `--provider auto` must know before
// it spends a start-up on it. Dawn asks for the high-performance adapter, so where a hardware
// driver has a GPU to drive it is the one used. A hardware driver without a GPU device node
// (Mesa's radeon/intel ICDs come with mesa-vulkan-drivers on machines without those GPUs) does
// not count.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';

export interface VulkanDriver {
  manifest: string;
  library: string;
  /** A CPU rasteriser, not a GPU. */
  software: boolean;
}

export interface VulkanDrivers {
  drivers: VulkanDriver[];
  /** 'hardware': a GPU driver and a GPU device node; 'software': only CPU rasterisers; 'none': neither. */
  adapter: 'hardware' | 'software' | 'none';
  /** Short names of the software drivers, e.g. "SwiftShader". */
  softwareNames: string[];
}

const SOFTWARE: [RegExp, string][] = [
  [/swiftshader/i, 'SwiftShader'],
  [/lvp|lavapipe/i, 'lavapipe'],
  [/llvmpipe/i, 'llvmpipe'],
  [/mock_icd/i, 'mock ICD'],
];

function manifestsIn(path: string): string[] {
  if (!existsSync(path)) return [];
  try {
    if (statSync(path).isDirectory())
      return readdirSync(path)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => join(path, f));
  } catch {
    return [];
  }
  return [path];
}

/** The loader's manifest search: VK_DRIVER_FILES / VK_ICD_FILENAMES replace it, VK_ADD_DRIVER_FILES adds to it. */
function manifestPaths(env: NodeJS.ProcessEnv): string[] {
  const split = (v: string | undefined) => (v ? v.split(':').filter(Boolean) : []);
  const only = split(env.VK_DRIVER_FILES ?? env.VK_ICD_FILENAMES);
  const added = split(env.VK_ADD_DRIVER_FILES);
  if (only.length > 0) return [...added, ...only].flatMap(manifestsIn);
  const config = split(env.XDG_CONFIG_DIRS || '/etc/xdg');
  const data = split(env.XDG_DATA_DIRS || '/usr/local/share:/usr/share');
  const home = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local/share');
  const dirs = [
    ...config.map((d) => join(d, 'vulkan/icd.d')),
    '/etc/vulkan/icd.d',
    ...data.map((d) => join(d, 'vulkan/icd.d')),
    join(home, 'vulkan/icd.d'),
  ];
  return [...added, ...new Set(dirs)].flatMap(manifestsIn);
}

/** GPU device nodes: the DRM render nodes Mesa's drivers open, NVIDIA's /dev/nvidiaN. */
export function gpuDeviceNodes(): string[] {
  const list = (dir: string, re: RegExp) => {
    try {
      return readdirSync(dir)
        .filter((f) => re.test(f))
        .map((f) => join(dir, f));
    } catch {
      return [];
    }
  };
  return [...list('/dev/dri', /^renderD\d+$/), ...list('/dev', /^nvidia\d+$/)];
}

export function vulkanDrivers(env: NodeJS.ProcessEnv = process.env, devices: readonly string[] = gpuDeviceNodes()): VulkanDrivers {
  const drivers: VulkanDriver[] = [];
  for (const manifest of manifestPaths(env)) {
    let library: string;
    try {
      const json = JSON.parse(readFileSync(manifest, 'utf8')) as { ICD?: { library_path?: unknown } };
      library = String(json.ICD?.library_path ?? '');
    } catch {
      continue; // not a manifest the loader could use either
    }
    if (!library) continue;
    const software = SOFTWARE.some(([re]) => re.test(basename(library)) || re.test(basename(manifest)));
    drivers.push({ manifest, library, software });
  }
  const softwareNames = [
    ...new Set(
      drivers
        .filter((d) => d.software)
        .map((d) => SOFTWARE.find(([re]) => re.test(basename(d.library)) || re.test(basename(d.manifest)))![1]),
    ),
  ];
  const hardware = drivers.some((d) => !d.software) && devices.length > 0;
  const adapter = hardware ? 'hardware' : drivers.some((d) => d.software) ? 'software' : 'none';
  return { drivers, adapter, softwareNames };
}
