// Worker-thread side of the ONNX engine: owns one ORT session, so inference (which the Node
// binding runs synchronously on the calling thread) never blocks the server's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { createSession, runBatch, type OrtSessionOptions } from './ort-session.js';

export interface WorkerInit {
  modelPath: string;
  options: OrtSessionOptions;
  windowShape: number[];
}
export type WorkerRequest = { id: number; input: Float32Array; n: number } | { id: number; dispose: true };
export type WorkerReply =
  | { id: number; ok: true; data: Float32Array; classes: number }
  | { id: number; ok: false; error: string }
  | { ready: true }
  | { ready: false; error: string };

const port = parentPort!;
const init = workerData as WorkerInit;

createSession(init.modelPath, init.options).then(
  (session) => {
    port.postMessage({ ready: true } satisfies WorkerReply);
    port.on('message', async (req: WorkerRequest) => {
      if ('dispose' in req) {
        await session.release();
        port.postMessage({ id: req.id, ok: true, data: new Float32Array(0), classes: 0 } satisfies WorkerReply);
        port.close();
        return;
      }
      try {
        const { data, classes } = await runBatch(session, req.input, req.n, init.windowShape);
        port.postMessage({ id: req.id, ok: true, data, classes } satisfies WorkerReply, [data.buffer as ArrayBuffer]);
      } catch (err) {
        port.postMessage({ id: req.id, ok: false, error: (err as Error).message } satisfies WorkerReply);
      }
    });
  },
  (err) => port.postMessage({ ready: false, error: (err as Error).message } satisfies WorkerReply),
);
