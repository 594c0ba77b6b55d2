// What oversized messages cost the server (issue #14, 2): a server in a child process (default
// limits, a constant engine); N connections start a session and each sends one binary message of
// SIZE MiB at once. Prints the server's resident memory (/proc/<pid>/status) before and after,
// its peak, and how each connection was closed.
//
//   node --import tsx scripts/oversize-rss.ts [connections=24] [MiB=16]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { EmostreamServer } from '../src/server/server.js';

if (process.argv[2] === '--serve') {
  const labels = ['a', 'b', 'c', 'd'];
  const server = new EmostreamServer({
    port: 0,
    engine: {
      backend: 'constant',
      model: 'constant',
      labels,
      infer: async (w) => w.map(() => Float32Array.from(labels, () => 1 / labels.length)),
      dispose: async () => {},
    },
  });
  const { port } = await server.listen();
  console.log(port);
} else {
  const n = Number(process.argv[2] ?? 24);
  const mib = Number(process.argv[3] ?? 16);
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--serve'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve) => child.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]);
  const settle = () => new Promise((r) => setTimeout(r, 1000));

  const conns = await Promise.all(
    Array.from({ length: n }, async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/stream`, ['emostream.v1.json']);
      const codes: string[] = [];
      ws.on('message', (d, binary) => !binary && codes.push(JSON.parse(String(d)).type === 'error' ? JSON.parse(String(d)).code : ''));
      ws.on('error', () => {});
      const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
      await new Promise((r) => ws.once('open', r));
      ws.send(JSON.stringify({ type: 'start', audio: { sampleRate: 16000, encoding: 's16le', channels: 1 } }));
      return { ws, codes, closed };
    }),
  );
  await settle();
  const before = kb('VmRSS');
  const big = Buffer.alloc(mib << 20);
  for (const c of conns) c.ws.send(big);
  const codes = await Promise.all(conns.map((c) => c.closed));
  await settle();
  const after = kb('VmRSS');
  const peak = kb('VmHWM');
  const errors = [...new Set(conns.flatMap((c) => c.codes.filter(Boolean)))];
  console.log(
    JSON.stringify({
      connections: n,
      messageMiB: mib,
      rssBeforeMB: +(before / 1024).toFixed(1),
      rssAfterMB: +(after / 1024).toFixed(1),
      rssPeakMB: +(peak / 1024).toFixed(1),
      riseMB: +((after - before) / 1024).toFixed(1),
      peakRiseMB: +((peak - before) / 1024).toFixed(1),
      closeCodes: [...new Set(codes)],
      errors,
    }),
  );
  child.kill('SIGTERM');
}
