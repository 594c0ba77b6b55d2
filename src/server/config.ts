// `emostream serve` settings: command-line flags over EMOSTREAM_* environment variables over
// defaults. One table drives parsing, validation and the help text.
import { availableParallelism } from 'node:os';
import { UserError } from '../errors.js';
import { PROVIDER_CHOICES, type EngineKind, type ProviderChoice } from '../inference/engine.js';
import type { HistoryLimits } from '../bus/types.js';
import type { AuthConfig } from './auth.js';
import { DEFAULT_BATCHER, type BatcherOptions } from './batcher.js';
import { DEFAULT_LIMITS, type ServerLimits } from './server.js';

export interface ServeConfig {
  host: string;
  port: number;
  model: string;
  /** undefined: loadEngine's choice (ONNX Runtime when the model has a model.onnx, else tfjs). */
  engine: EngineKind | undefined;
  provider: ProviderChoice;
  threads: number;
  batch: BatcherOptions;
  limits: ServerLimits;
  auth: AuthConfig;
  logLevel: string;
  /** The shared session space (docs/deploy.md); undefined = this process alone. */
  bus: BusConfig | undefined;
  history: HistoryLimits;
  /** `--engine remote`: batches go to `emostream infer-worker` processes on the bus. */
  remote: RemoteConfig | undefined;
  /** PEM files for https + wss (src/server/tls.ts reads them); undefined = plain http + ws. */
  tls: { certFile: string; keyFile: string } | undefined;
}

export interface RemoteConfig {
  deadlineMs: number;
  fallback: 'local' | 'overloaded';
}

export interface BusConfig {
  url: string;
  node: string | undefined;
  ttlMs: number;
  maxInflight: number;
}

const ENGINES: EngineKind[] = ['tfjs', 'onnx', 'onnx-int8', 'onnx-cuda'];

type Kind = 'string' | 'int' | 'number' | 'list';
interface Setting {
  flag: string;
  env: string;
  kind: Kind;
  help: string;
  def: string;
  min?: number;
  max?: number;
}

export const SETTINGS: Setting[] = [
  { flag: 'host', env: 'EMOSTREAM_HOST', kind: 'string', def: '127.0.0.1', help: 'address to listen on (0.0.0.0 for every interface)' },
  { flag: 'port', env: 'EMOSTREAM_PORT', kind: 'int', def: '8080', min: 0, max: 65535, help: 'TCP port (0 = any free port)' },
  {
    flag: 'tls-cert',
    env: 'EMOSTREAM_TLS_CERT',
    kind: 'string',
    def: '',
    help: 'PEM certificate (chain) file: serve https:// and wss:// (needs --tls-key)',
  },
  { flag: 'tls-key', env: 'EMOSTREAM_TLS_KEY', kind: 'string', def: '', help: "PEM private key file of --tls-cert's certificate" },
  { flag: 'model', env: 'EMOSTREAM_MODEL', kind: 'string', def: 'models/basic-4', help: 'model directory' },
  {
    flag: 'engine',
    env: 'EMOSTREAM_ENGINE',
    kind: 'string',
    def: '',
    help: `inference engine: ${ENGINES.join(', ')}, or remote (infer-worker processes on the bus) (default: onnx if the model has model.onnx, else tfjs)`,
  },
  {
    flag: 'remote-deadline-ms',
    env: 'EMOSTREAM_REMOTE_DEADLINE_MS',
    kind: 'int',
    def: '500',
    min: 1,
    max: 60000,
    help: '--engine remote: longest a batch waits for a worker, ms',
  },
  {
    flag: 'remote-fallback',
    env: 'EMOSTREAM_REMOTE_FALLBACK',
    kind: 'string',
    def: 'local',
    help: "--engine remote: when no worker answers in time, 'local' computes here, 'overloaded' skips the windows and says so",
  },
  {
    flag: 'provider',
    env: 'EMOSTREAM_PROVIDER',
    kind: 'string',
    def: 'cpu',
    help: `ONNX Runtime execution provider: ${PROVIDER_CHOICES.join(', ')} (webgpu: a GPU through Vulkan; auto: the fastest that agrees with cpu)`,
  },
  {
    flag: 'threads',
    env: 'EMOSTREAM_THREADS',
    kind: 'int',
    def: String(availableParallelism()),
    min: 1,
    max: 256,
    help: 'engine intra-op threads (default: the number of cores)',
  },
  {
    flag: 'max-batch',
    env: 'EMOSTREAM_MAX_BATCH',
    kind: 'int',
    def: String(DEFAULT_BATCHER.maxBatch),
    min: 1,
    max: 1024,
    help: 'most windows per inference batch, across sessions',
  },
  {
    flag: 'max-wait-ms',
    env: 'EMOSTREAM_MAX_WAIT_MS',
    kind: 'number',
    def: String(DEFAULT_BATCHER.maxWaitMs),
    min: 0,
    max: 10000,
    help: 'longest a window waits for its batch to fill, ms',
  },
  {
    flag: 'stale-ms',
    env: 'EMOSTREAM_STALE_MS',
    kind: 'number',
    def: String(DEFAULT_BATCHER.staleMs),
    min: 1,
    max: 3600000,
    help: 'overload: a window older than this may be skipped, ms',
  },
  {
    flag: 'max-pending',
    env: 'EMOSTREAM_MAX_PENDING',
    kind: 'int',
    def: String(DEFAULT_LIMITS.maxPendingWindows),
    min: 1,
    max: 100000,
    help: 'windows a session may have queued before its socket is paused',
  },
  {
    flag: 'max-message-bytes',
    env: 'EMOSTREAM_MAX_MESSAGE_BYTES',
    kind: 'int',
    def: String(DEFAULT_LIMITS.maxMessageBytes),
    min: 1024,
    max: 1 << 30,
    help: 'largest accepted message, bytes',
  },
  {
    flag: 'send-soft-limit',
    env: 'EMOSTREAM_SEND_SOFT_LIMIT',
    kind: 'int',
    def: String(DEFAULT_LIMITS.sendSoftLimit),
    min: 0,
    max: 1 << 30,
    help: 'unsent bytes per connection above which posteriors are shed',
  },
  {
    flag: 'send-hard-limit',
    env: 'EMOSTREAM_SEND_HARD_LIMIT',
    kind: 'int',
    def: String(DEFAULT_LIMITS.sendHardLimit),
    min: 0,
    max: 1 << 30,
    help: 'unsent bytes per connection above which it is closed (slow_consumer)',
  },
  {
    flag: 'slow-consumer-ms',
    env: 'EMOSTREAM_SLOW_CONSUMER_MS',
    kind: 'number',
    def: String(DEFAULT_LIMITS.slowConsumerMs),
    min: 0,
    max: 3600000,
    help: 'close a connection whose send buffer stays above the soft limit this long, ms',
  },
  {
    flag: 'heartbeat-ms',
    env: 'EMOSTREAM_HEARTBEAT_MS',
    kind: 'number',
    def: String(DEFAULT_LIMITS.heartbeatMs),
    min: 0,
    max: 3600000,
    help: 'WebSocket ping interval; a peer missing a pong is dropped (0 = off), ms',
  },
  {
    flag: 'max-connections',
    env: 'EMOSTREAM_MAX_CONNECTIONS',
    kind: 'int',
    def: String(DEFAULT_LIMITS.maxConnections),
    min: 1,
    max: 1000000,
    help: 'most open WebSocket connections; more are refused at the upgrade (HTTP 503)',
  },
  {
    flag: 'max-connections-per-address',
    env: 'EMOSTREAM_MAX_CONNECTIONS_PER_ADDRESS',
    kind: 'int',
    def: String(DEFAULT_LIMITS.maxConnectionsPerAddress),
    min: 1,
    max: 1000000,
    help: 'most open WebSocket connections from one remote address (HTTP 429 beyond)',
  },
  {
    flag: 'start-timeout-ms',
    env: 'EMOSTREAM_START_TIMEOUT_MS',
    kind: 'number',
    def: String(DEFAULT_LIMITS.startTimeoutMs),
    min: 0,
    max: 3600000,
    help: "close a publisher that has not sent 'start' this long after connecting (0 = never), ms",
  },
  {
    flag: 'max-unauthenticated-sockets',
    env: 'EMOSTREAM_MAX_UNAUTHENTICATED_SOCKETS',
    kind: 'int',
    def: String(DEFAULT_LIMITS.maxUnauthenticatedSockets),
    min: 1,
    max: 1000000,
    help: 'most TCP connections that are not an accepted WebSocket (HTTP, handshakes, idle); at the cap the oldest is closed',
  },
  {
    flag: 'max-sessions',
    env: 'EMOSTREAM_MAX_SESSIONS',
    kind: 'int',
    def: String(DEFAULT_LIMITS.maxSessions),
    min: 1,
    max: 100000,
    help: 'most concurrent sessions',
  },
  {
    flag: 'max-subscribers',
    env: 'EMOSTREAM_MAX_SUBSCRIBERS',
    kind: 'int',
    def: String(DEFAULT_LIMITS.maxSubscribersPerSession),
    min: 1,
    max: 100000,
    help: "most subscribers of one session (with --bus: on all nodes together, the publishing node's setting)",
  },
  {
    flag: 'publish-token',
    env: 'EMOSTREAM_PUBLISH_TOKENS',
    kind: 'list',
    def: '',
    help: 'token allowed to publish (and subscribe); repeat or comma-separate',
  },
  { flag: 'subscribe-token', env: 'EMOSTREAM_SUBSCRIBE_TOKENS', kind: 'list', def: '', help: 'token allowed to subscribe only' },
  {
    flag: 'metrics-token',
    env: 'EMOSTREAM_METRICS_TOKENS',
    kind: 'list',
    def: '',
    help: 'token for /metrics and the details of /healthz: when set, /metrics needs it and /healthz shows others only its status',
  },
  {
    flag: 'origin',
    env: 'EMOSTREAM_ORIGINS',
    kind: 'list',
    def: '',
    help: 'allowed browser Origin (e.g. https://app.example.com); any if unset',
  },
  {
    flag: 'bus',
    env: 'EMOSTREAM_BUS',
    kind: 'string',
    def: '',
    help: 'share sessions with other nodes through Redis, e.g. redis://127.0.0.1:6379 (default: none)',
  },
  { flag: 'node-id', env: 'EMOSTREAM_NODE_ID', kind: 'string', def: '', help: "this node's name on the bus (default: host-pid)" },
  {
    flag: 'bus-ttl-ms',
    env: 'EMOSTREAM_BUS_TTL_MS',
    kind: 'int',
    def: '5000',
    min: 500,
    max: 600000,
    help: 'a node that stops answering loses its sessions after this long (subscribers get publisher_gone), ms',
  },
  {
    flag: 'bus-max-inflight',
    env: 'EMOSTREAM_BUS_MAX_INFLIGHT',
    kind: 'int',
    def: '10000',
    min: 1,
    max: 10000000,
    help: 'messages on their way to the bus at most; beyond (bus unreachable) they are dropped and counted',
  },
  {
    flag: 'history-max',
    env: 'EMOSTREAM_HISTORY_MAX',
    kind: 'int',
    def: '200',
    min: 0,
    max: 100000,
    help: "a late subscriber first gets up to this many of the session's turns and events",
  },
  {
    flag: 'history-ms',
    env: 'EMOSTREAM_HISTORY_MS',
    kind: 'int',
    def: '600000',
    min: 0,
    max: 86400000,
    help: '… no older than this, ms',
  },
  {
    flag: 'log-level',
    env: 'EMOSTREAM_LOG_LEVEL',
    kind: 'string',
    def: 'info',
    help: 'pino log level: fatal, error, warn, info, debug, trace or silent',
  },
];

/** parseArgs option table for the settings. */
export function parseArgsOptions(): Record<string, { type: 'string'; multiple?: boolean }> {
  return Object.fromEntries(
    SETTINGS.map((s) => [s.flag, s.kind === 'list' ? { type: 'string' as const, multiple: true } : { type: 'string' as const }]),
  );
}

export function settingsHelp(): string {
  return SETTINGS.map(
    (s) =>
      `  --${`${s.flag} <${s.kind === 'list' ? 'value' : s.kind}>`.padEnd(26)} ${s.help}${s.def ? ` [${s.def}]` : ''}\n  ${''.padEnd(28)} env ${s.env}`,
  ).join('\n');
}

function parse(s: Setting, raw: string): string | number | string[] {
  if (s.kind === 'list')
    return raw
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  if (s.kind === 'string') return raw;
  const v = Number(raw);
  if (
    raw.trim() === '' ||
    !Number.isFinite(v) ||
    (s.kind === 'int' && !Number.isInteger(v)) ||
    v < (s.min ?? -Infinity) ||
    v > (s.max ?? Infinity)
  ) {
    throw new UserError(
      'bad_config',
      `--${s.flag} / ${s.env} must be ${s.kind === 'int' ? 'an integer' : 'a number'} in ${s.min}..${s.max}, got '${raw}'`,
    );
  }
  return v;
}

export function resolveServeConfig(
  flags: Record<string, string | string[] | undefined>,
  env: NodeJS.ProcessEnv = process.env,
): ServeConfig {
  const v: Record<string, string | number | string[] | undefined> = {};
  for (const s of SETTINGS) {
    const f = flags[s.flag];
    if (Array.isArray(f) && f.length > 0) v[s.flag] = f.flatMap((x) => parse(s, x) as string[]);
    else if (typeof f === 'string') v[s.flag] = parse(s, f);
    else if (env[s.env] !== undefined && env[s.env] !== '') v[s.flag] = parse(s, env[s.env]!);
    else v[s.flag] = s.def === '' ? (s.kind === 'list' ? [] : undefined) : parse(s, s.def);
  }
  const remote = v.engine === 'remote';
  const engine = remote ? undefined : (v.engine as EngineKind | undefined);
  if (engine !== undefined && !ENGINES.includes(engine))
    throw new UserError('bad_config', `--engine must be one of ${ENGINES.join(', ')}, remote, got '${engine}'`);
  const provider = v.provider as ProviderChoice;
  if (!PROVIDER_CHOICES.includes(provider))
    throw new UserError('bad_config', `--provider must be one of ${PROVIDER_CHOICES.join(', ')}, got '${provider}'`);
  const fallback = v['remote-fallback'] as string;
  if (fallback !== 'local' && fallback !== 'overloaded')
    throw new UserError('bad_config', `--remote-fallback must be local or overloaded, got '${fallback}'`);
  if (remote && v.bus === undefined) throw new UserError('bad_config', '--engine remote needs --bus (the workers read the bus)');
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (!levels.includes(v['log-level'] as string))
    throw new UserError('bad_config', `--log-level must be one of ${levels.join(', ')}, got '${v['log-level']}'`);
  const limits: ServerLimits = {
    ...DEFAULT_LIMITS,
    maxPendingWindows: v['max-pending'] as number,
    maxMessageBytes: v['max-message-bytes'] as number,
    sendSoftLimit: v['send-soft-limit'] as number,
    sendHardLimit: v['send-hard-limit'] as number,
    slowConsumerMs: v['slow-consumer-ms'] as number,
    heartbeatMs: v['heartbeat-ms'] as number,
    maxSessions: v['max-sessions'] as number,
    maxSubscribersPerSession: v['max-subscribers'] as number,
    maxConnections: v['max-connections'] as number,
    maxConnectionsPerAddress: v['max-connections-per-address'] as number,
    startTimeoutMs: v['start-timeout-ms'] as number,
    maxUnauthenticatedSockets: v['max-unauthenticated-sockets'] as number,
  };
  if (limits.sendHardLimit < limits.sendSoftLimit)
    throw new UserError('bad_config', '--send-hard-limit must not be below --send-soft-limit');
  const certFile = v['tls-cert'] as string | undefined;
  const keyFile = v['tls-key'] as string | undefined;
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new UserError('bad_config', '--tls-cert and --tls-key go together: give both (https + wss) or neither (http + ws)');
  return {
    host: v.host as string,
    port: v.port as number,
    model: v.model as string,
    engine,
    provider,
    threads: v.threads as number,
    batch: { maxBatch: v['max-batch'] as number, maxWaitMs: v['max-wait-ms'] as number, staleMs: v['stale-ms'] as number },
    limits,
    auth: {
      publishTokens: v['publish-token'] as string[],
      subscribeTokens: v['subscribe-token'] as string[],
      origins: v.origin as string[],
      metricsTokens: v['metrics-token'] as string[],
    },
    logLevel: v['log-level'] as string,
    bus: busConfig(v),
    history: { count: v['history-max'] as number, ageMs: v['history-ms'] as number },
    remote: remote ? { deadlineMs: v['remote-deadline-ms'] as number, fallback } : undefined,
    tls: certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : undefined,
  };
}

function busConfig(v: Record<string, string | number | string[] | undefined>): BusConfig | undefined {
  const url = v.bus as string | undefined;
  if (url === undefined) return undefined;
  if (!/^rediss?:\/\/[^\s]+$/.test(url))
    throw new UserError('bad_config', `--bus must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379, got '${url}'`);
  return { url, node: v['node-id'] as string | undefined, ttlMs: v['bus-ttl-ms'] as number, maxInflight: v['bus-max-inflight'] as number };
}
