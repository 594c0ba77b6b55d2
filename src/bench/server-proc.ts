// A real emostream server in a child process on an ephemeral loopback port, so the load
// generator and the server do not share an event loop and the server's memory is its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './models.js';

export interface ServerProcOptions {
  model: string;
  engine: 'tfjs' | 'onnx';
  provider?: 'cpu' | 'webgpu' | 'cuda';
  threads?: number;
  maxBatch?: number;
  maxWaitMs?: number;
  maxSessions?: number;
  /** More `serve` flags (e.g. --bus). */
  args?: string[];
  /** Log level (default warn). */
  logLevel?: string;
  /** Longest to wait for it to listen before killing it and failing, ms (default 60 000). */
  startTimeoutMs?: number;
}

export interface ServerProc {
  url: string;
  wsUrl: string;
  pid: number;
  /** Resident set size now, bytes (from /proc). */
  rss(): number;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. */
  stop(): Promise<void>;
  /** Everything it wrote to stderr (warnings and errors; the log level is 'warn'). */
  stderr(): string;
  /** Kills it at once (SIGKILL: no flush, no goodbye) and waits for it to exit. */
  kill(): Promise<void>;
}

export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Servers started and not yet exited: a bench or test that is stopped (Ctrl-C, SIGTERM, an
 *  uncaught error) must not leave them running, holding ports, cores and memory. */
const live = new Set<ChildProcess>();

function killLive(): void {
  for (const c of live) c.kill('SIGKILL');
}

let reaping = false;
function reapOnExit(): void {
  if (reaping) return;
  reaping = true;
  process.once('exit', killLive);
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      killLive();
      process.exit(code);
    });
  }
}

export async function startServerProc(o: ServerProcOptions): Promise<ServerProc> {
  const args = [
    '--import',
    'tsx',
    join(REPO, 'src/cli/main.ts'),
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--model',
    o.model,
    '--engine',
    o.engine,
    '--log-level',
    o.logLevel ?? 'warn',
    '--max-sessions',
    String(o.maxSessions ?? 1024),
    // Every load-generating client connects from loopback: the per-address cap must not bind.
    '--max-connections-per-address',
    '100000',
    '--max-connections',
    '100000',
  ];
  if (o.provider) args.push('--provider', o.provider);
  if (o.threads) args.push('--threads', String(o.threads));
  if (o.maxBatch) args.push('--max-batch', String(o.maxBatch));
  if (o.maxWaitMs !== undefined) args.push('--max-wait-ms', String(o.maxWaitMs));
  if (o.args) args.push(...o.args);
  const child: ChildProcess = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  reapOnExit();
  live.add(child);
  child.once('exit', () => live.delete(child));
  let err = '';
  child.stderr!.on('data', (b) => {
    err += b;
    if (err.length > 100_000) err = err.slice(-50_000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const limit = o.startTimeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // not left running behind a failed start
      reject(new Error(`server did not start in ${limit / 1000} s:\n${err}`));
    }, limit);
    child.stdout!.on('data', (b) => {
      out += b;
      const m = /serving .* at (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${err}`));
    });
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    pid: child.pid!,
    rss: () => rssOf(child.pid!),
    stderr: () => err,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
