// `emostream bench`: engine, latency, capacity, memory and front-end benchmarks against a real
// server on loopback (bench/run.ts), printed as Markdown tables and written as JSON.
import { numberFlag, parseCommandLine } from './args.js';
import { CliError } from './errors.js';

const HELP = `usage: emostream bench [--quick] [--out FILE] [options]

Runs the benchmarks end to end: a server child process on an ephemeral loopback port (or the
server at --url), real speech streamed in 20 ms chunks at real-time pace (Emo-DB from
../shared/data/emodb, or your own files with --audio).

  engine     windows/s and ms/window at batch 1, 8, 32: tfjs, ONNX Runtime 1 and 2 threads
  latency    last audio sample sent → posterior received, p50/p95/p99, for 1…64 streams
  capacity   most streams that keep up at hop 1 s and 0.5 s with p99 < 250 ms
  memory     server RSS idle and at capacity
  frontend   front-end speed (times real time)
  peak       the machine's ceiling: GFLOP/s of a large ONNX Runtime MatMul
  scale      the bus (serve --bus; needs redis-server; docs/deploy.md): hop latency p50/p99
             at 1, 64, 256 streams, beside the same load with no bus, messages/s, redis-server's
             CPU share; then streams carried by 1, 2 and 3 serve --bus nodes on this machine
             (publishers spread over the nodes, each session followed from another node; the
             capacity test on the slower path; per-node, redis and load-generator CPU).
             About 4 minutes with --quick (no bisection), 10+ without
  events     live results on labelled speech: utterances of a corpus (default RAVDESS actors
             13-24; the shipped model saw them in training; --events-corpus for held-out
             speech) stitched into sequences of six with 1 s of quiet, streamed in real time
             two at a time (hop 500 ms, early window 1 s): \`utterance\` UA vs the same files'
             utterance-level UA, the state 1 s after each turn, the first event decided in
             each file, turn start → first right event, turn end → \`utterance\` (stream and
             wall ms, p50/p90); 12 files with --quick (about 1 minute), 48 without (~3). The
             report says whether the model's recorded training heard the corpus

The full run takes about 10–15 minutes; --quick about one minute (shipped model, fewer points).

options:
  --quick              short run
  --out FILE           write the JSON report here (e.g. runs/bench.json)
  --models LIST        any of paper,paper-int8,shipped,shipped-int8 (default: paper,paper-int8,
                       shipped; quick: shipped). 'paper' is an untrained width-1.0 STA-CRNN
                       (speed does not depend on the weights); -int8: its export-onnx --int8
  --model DIR          the shipped model directory (default models/basic-4)
  --sections LIST      any of peak,engine,latency,capacity,memory,frontend,scale,events (default: all)
  --threads N          server engine threads (default 2)
  --provider P         cpu (default), webgpu or cuda: the engine section then compares that
                       ONNX Runtime provider with cpu at batch 1…512 (windows/s, p50/p99), and
                       the server sections serve with it
  --batches LIST       engine-section batch sizes (e.g. 1,8,64)
  --max-batch N        server batcher max batch (default 8)
  --max-wait-ms X      server batcher max wait (default 0)
  --audio DIR          stream these audio files instead of Emo-DB (any depth; WAV, FLAC, MP3,
                       Ogg, and M4A with ffmpeg; concatenated and repeated as needed); for
                       events, its RAVDESS-named speech files (03-01-EE-…) instead of actors 13-24
  --events-corpus C    events: ravdess (default), emodb, turev, nemo or ased, through the
                       training loaders (four labels; TurEV-DB's calm counts as neutral)
  --events-speakers L  events: only these speakers, comma-separated (e.g. 12,13,14,15,16 for
                       Emo-DB, 13,14 for RAVDESS actors)
  --events-files N     events: a seeded sample of N files (default 48, --quick 12)
  --events-seed N      events: the sample's seed (default 11)
  --events-per-sequence N  events: utterances per session (default 6; 1 = one file per session,
                       so the first event is the session's first)
  --events-concurrency N   events: sessions streamed at once (default 2)
  --data-root DIR      events: where emodb/ and ravdess/ are (default ../shared/data)
  --corpora-root DIR   events: where nemo/, ased/, turev/ are (default corpora/)
  --url URL            measure latency and capacity of a running server (ws://host:port or
                       wss://…) instead of starting one; default sections latency,capacity
                       (memory needs the server's process, so is not available)
  --token T            publish token for --url (or EMOSTREAM_TOKEN)
  --json               print the JSON report instead of tables`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandLine(
    argv,
    {
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      models: { type: 'string' },
      model: { type: 'string' },
      sections: { type: 'string' },
      threads: { type: 'string', default: '2' },
      provider: { type: 'string', default: 'cpu' },
      batches: { type: 'string' },
      'max-batch': { type: 'string', default: '8' },
      'max-wait-ms': { type: 'string', default: '0' },
      json: { type: 'boolean', default: false },
      audio: { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      'events-corpus': { type: 'string' },
      'events-speakers': { type: 'string' },
      'events-files': { type: 'string' },
      'events-seed': { type: 'string' },
      'events-per-sequence': { type: 'string' },
      'events-concurrency': { type: 'string' },
      'data-root': { type: 'string' },
      'corpora-root': { type: 'string' },
    },
    HELP,
    false,
  );
  if (!args) return 0;
  const v = args.values;
  const { runBench, formatReport, SECTIONS, MODEL_CHOICES } = await import('../bench/run.js');
  const { EVENTS_CORPORA } = await import('../bench/sequences.js');
  const list = (s: string | undefined, allowed: readonly string[], name: string, def: string[]): string[] => {
    if (s === undefined) return def;
    const xs = s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
    const badOne = xs.find((x) => !allowed.includes(x));
    if (badOne || xs.length === 0)
      throw new CliError('usage', `--${name} takes a comma-separated list of ${allowed.join(', ')}; got '${s}'`, 2);
    return xs;
  };
  const int = (s: string, name: string, min: number) => numberFlag(name, s, { min, integer: name !== 'max-wait-ms' }, min);
  const providers = ['cpu', 'webgpu', 'cuda'] as const;
  const provider = v.provider as (typeof providers)[number];
  if (!providers.includes(provider))
    throw new CliError('usage', `--provider must be one of ${providers.join(', ')}, got '${v.provider}'`, 2);
  const batches = v.batches?.split(',').map((x) => int(x.trim(), 'batches', 1));
  if (v.url !== undefined && !/^(wss?|https?):\/\/[^/\s]+/.test(v.url))
    throw new CliError('bad_argument', `--url must be a server address like ws://host:8080, got '${v.url}'`, 2);
  if (v.url && v.sections?.split(',').some((x) => x.trim() === 'memory'))
    throw new CliError('bad_argument', '--sections memory needs the server process (its RSS), so it cannot run with --url', 2);
  if (v.audio !== undefined) {
    const { statSync } = await import('node:fs');
    if (!statSync(v.audio, { throwIfNoEntry: false })?.isDirectory())
      throw new CliError('bad_argument', `--audio must be a folder of audio files, got '${v.audio}'`, 2);
  }
  const eventsCorpus = v['events-corpus'] as (typeof EVENTS_CORPORA)[number] | undefined;
  if (eventsCorpus !== undefined && !EVENTS_CORPORA.includes(eventsCorpus))
    throw new CliError('usage', `--events-corpus must be one of ${EVENTS_CORPORA.join(', ')}, got '${eventsCorpus}'`, 2);
  if (v['events-speakers'] !== undefined && !v['events-speakers'].split(',').some((x) => x.trim()))
    throw new CliError('usage', `--events-speakers takes a comma-separated list of speaker ids, got '${v['events-speakers']}'`, 2);
  const eventsFiles = numberFlag('events-files', v['events-files'], { min: 1, integer: true });
  const { resolve } = await import('node:path');
  const events = {
    corpus: eventsCorpus,
    speakers: v['events-speakers'],
    perSequence: numberFlag('events-per-sequence', v['events-per-sequence'], { min: 1, integer: true }),
    concurrency: numberFlag('events-concurrency', v['events-concurrency'], { min: 1, integer: true }),
    seed: numberFlag('events-seed', v['events-seed'], { min: 0, integer: true }),
    roots: {
      data: v['data-root'] ? resolve(v['data-root']) : undefined,
      corpora: v['corpora-root'] ? resolve(v['corpora-root']) : undefined,
    },
  };
  const report = await runBench({
    events,
    audioDir: v.audio,
    url: v.url,
    token: v.token ?? process.env.EMOSTREAM_TOKEN,
    provider,
    plan: { ...(batches ? { engineBatches: batches } : {}), ...(eventsFiles ? { eventsFiles } : {}) },
    quick: v.quick,
    models: list(v.models, MODEL_CHOICES, 'models', v.quick ? ['shipped'] : ['paper', 'paper-int8', 'shipped']) as typeof MODEL_CHOICES,
    sections: list(v.sections, SECTIONS, 'sections', v.url ? ['latency', 'capacity'] : [...SECTIONS]) as typeof SECTIONS,
    threads: int(v.threads, 'threads', 1),
    maxBatch: int(v['max-batch'], 'max-batch', 1),
    maxWaitMs: int(v['max-wait-ms'], 'max-wait-ms', 0),
    shippedDir: v.model,
    out: v.out,
    log: (line) => console.error(line),
  });
  console.log(v.json ? JSON.stringify(report, null, 1) : formatReport(report));
  if (v.out) console.error(`wrote ${v.out}`);
  return 0;
}
