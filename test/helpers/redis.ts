// A throwaway redis-server for bus tests: its own free loopback port, no persistence (a restart
// loses everything, like a crashed bus), stopped and restarted by the test.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort } from '../../src/util/free-port.js';

export function haveRedis(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0;
}

export interface RedisProc {
  url: string;
  port: number;
  /** Kills it (SIGKILL: nothing saved) and waits for the exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
}

async function launch(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 10_000);
    child.stdout!.on('data', (b) => {
      out += b;
      if (/Ready to accept connections/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code}):\n${out}`));
    });
  });
  child.stdout!.resume();
  return child;
}

export async function startRedis(): Promise<RedisProc> {
  const port = await freePort();
  let child = await launch(port);
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    async restart() {
      await kill();
      child = await launch(port);
    },
  };
}

/**
 * A TCP relay to Redis that can be frozen: while frozen it stops reading from either side but
 * keeps every connection open, like a network that drops packets without resetting anything.
 */
export interface FreezableProxy {
  url: string;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<FreezableProxy> {
  const { createServer: tcpServer, connect: tcpConnect } = await import('node:net');
  type Socket = import('node:net').Socket;
  const pairs = new Set<[Socket, Socket]>();
  let frozen = false;
  const join = ([a, b]: [Socket, Socket]) => {
    a.pipe(b);
    b.pipe(a);
  };
  const split = ([a, b]: [Socket, Socket]) => {
    a.unpipe(b);
    b.unpipe(a);
    a.pause();
    b.pause();
  };
  const server = tcpServer((client) => {
    const pair: [Socket, Socket] = [client, tcpConnect(targetPort, '127.0.0.1')];
    pairs.add(pair);
    for (const s of pair) {
      s.on('error', () => {});
      s.on('close', () => {
        pairs.delete(pair);
        pair.forEach((x) => x.destroy());
      });
    }
    if (frozen) split(pair);
    else join(pair);
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
  return {
    url: `redis://127.0.0.1:${port}`,
    freeze() {
      frozen = true;
      pairs.forEach(split);
    },
    thaw() {
      frozen = false;
      pairs.forEach(join);
    },
    async close() {
      for (const p of pairs) p.forEach((x) => x.destroy());
      await new Promise((r) => server.close(r));
    },
  };
}
