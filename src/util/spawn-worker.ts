// Starting a worker thread from a module beside the caller, under tsx or compiled.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * A Worker running `name` (without extension) resolved against `base` (the caller's
 * import.meta.url): the .ts file under tsx, the .js file in a compiled build. Node does not
 * carry tsx's loader hooks into worker threads, so under tsx the worker registers them itself
 * before importing the TypeScript file.
 */
export function spawnWorker(name: string, base: string, workerData: unknown): Worker {
  const ext = extname(fileURLToPath(base));
  const url = new URL(`${name}${ext}`, base);
  return ext === '.ts'
    ? new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})` +
          `.then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`,
        { eval: true, workerData },
      )
    : new Worker(url, { workerData });
}
