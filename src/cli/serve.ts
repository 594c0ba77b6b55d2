// emostream serve: the streaming WebSocket server (docs/server.md).
import pino from 'pino';
import type { Engine } from '../inference/engine.js';
import { loadEngine } from '../inference/load-engine.js';
import { parseArgsOptions, resolveServeConfig, settingsHelp } from '../server/config.js';
import { startServer } from '../server/server.js';
import { readTls } from '../server/tls.js';
import { parseCommandLine } from './args.js';
import { UserError } from './errors.js';

const HELP = `usage: emostream serve [options]

Serves a model over WebSocket (protocol v1, docs/protocol.md): publish audio to
ws://HOST:PORT/v1/stream, follow a session at ws://HOST:PORT/v1/subscribe/<session>;
the demo page is at http://HOST:PORT/, health at /healthz, Prometheus metrics at /metrics
(https:// and wss:// with --tls-cert and --tls-key).
Logs are JSON lines (pino) on stderr. SIGTERM/SIGINT flush every session and exit 0; so does
the death of npm/npx when they started the server (EMOSTREAM_PARENT_WATCH=0/1 overrides).

options (flags override the environment variables):
${settingsHelp()}
  -h, --help                   show this help`;

/** How often serve checks that the process that started it is still there. */
const PARENT_CHECK_MS = 500;

/** Started by npm (npm start, npm run, npx / npm exec), unless EMOSTREAM_PARENT_WATCH says otherwise (1 / 0). */
function watchParent(): boolean {
  const v = process.env.EMOSTREAM_PARENT_WATCH;
  if (v === '0' || v === '1') return v === '1';
  return Boolean(process.env.npm_lifecycle_event || process.env.npm_command);
}

export async function run(argv: string[]): Promise<number> {
  // Read before the (slow) model load: a launcher that dies meanwhile must still be noticed.
  const parent = process.ppid;
  const parsed = parseCommandLine(argv, parseArgsOptions(), HELP, false);
  if (!parsed) return 0;
  const cfg = resolveServeConfig(parsed.values as Record<string, string | string[] | undefined>);
  const tls = cfg.tls ? readTls(cfg.tls) : undefined;
  const logger = pino({ level: cfg.logLevel, base: { pid: process.pid } }, pino.destination(2));
  // Loaded only with --bus: a lone node never loads the Redis client.
  const bus = cfg.bus
    ? await (
        await import('../bus/redis.js')
      ).RedisBus.connect({
        url: cfg.bus.url,
        node: cfg.bus.node,
        ttlMs: cfg.bus.ttlMs,
        maxInflight: cfg.bus.maxInflight,
        historyCount: cfg.history.count,
      })
    : undefined;
  const local = await loadEngine(cfg.model, {
    kind: cfg.engine,
    provider: cfg.provider,
    threads: cfg.threads,
    autoBatch: cfg.batch.maxBatch,
    log: (line) => logger.info({ provider: cfg.provider }, line),
  }).catch(async (err) => {
    await bus?.close();
    throw err;
  });
  // --engine remote: the local engine gives labels and computes what no worker answers in time.
  const engine: Engine = cfg.remote
    ? await (
        await import('../bus/remote-engine.js')
      ).RemoteEngine.connect({ url: cfg.bus!.url, local, ...cfg.remote }).catch(async (err) => {
        await local.dispose();
        await bus?.close();
        throw err;
      })
    : local;
  let started;
  try {
    started = await startServer({
      engine,
      host: cfg.host,
      port: cfg.port,
      batch: cfg.batch,
      limits: cfg.limits,
      auth: cfg.auth,
      logger,
      bus,
      history: cfg.history,
      tls,
    });
  } catch (err) {
    await engine.dispose();
    await bus?.close();
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE')
      throw new UserError('port_in_use', `cannot listen on ${cfg.host}:${cfg.port}: the port is already in use (pick another with --port)`);
    if (e.code === 'EACCES')
      throw new UserError('port_denied', `cannot listen on ${cfg.host}:${cfg.port}: permission denied (ports below 1024 need privileges)`);
    if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND')
      throw new UserError('bad_host', `cannot listen on ${cfg.host}: no such local address`);
    throw err;
  }
  const { server, url } = started;
  const wsUrl = url.replace(/^http/, 'ws');
  const auth = cfg.auth.publishTokens.length + cfg.auth.subscribeTokens.length > 0 ? ', tokens required' : '';
  const shared = bus ? `, node ${bus.node} on ${cfg.bus!.url.replace(/\/\/[^@/]*@/, '//')}` : '';
  console.log(`emostream: serving ${engine.model} (${engine.backend}${auth}${shared}) at ${url}`);
  console.log(`  publish:   ${wsUrl}v1/stream\n  subscribe: ${wsUrl}v1/subscribe/<session>\n  demo page: ${url}`);
  logger.info({ url, model: engine.model, backend: engine.backend, provider: engine.provider, batch: cfg.batch }, 'listening');

  await new Promise<void>((resolve) => {
    let stopping = false;
    let watch: NodeJS.Timeout | undefined;
    const stop = (signal: string) => {
      clearInterval(watch);
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal, sessions: server.sessionIds().length }, 'shutting down: flushing sessions');
      server
        .close()
        .then(() => bus?.close())
        .then(() => engine.dispose())
        .then(
          () => {
            logger.info('stopped');
            resolve();
          },
          (err) => {
            logger.error({ err }, 'shutdown failed');
            resolve();
          },
        );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    // npm and npx may die of a SIGTERM without passing it on, leaving this process serving as an
    // orphan: when one of them started us, a parent that goes away counts as a SIGTERM. Not for
    // other launchers (nohup, setsid, a shell that exits): there the server is meant to outlive them.
    if (watchParent()) {
      watch = setInterval(() => {
        if (process.ppid !== parent) stop('parent exited');
      }, PARENT_CHECK_MS);
      watch.unref();
    }
  });
  return 0;
}
