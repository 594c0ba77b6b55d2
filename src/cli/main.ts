// Entry point of `emostream <command>`. Each command lives in src/cli/<command>.ts, exports
// run(argv), and is loaded only when used, so `features` does not pay for tfjs or the server.
import { CliError, formatError } from './errors.js';

type CommandModule = { run(argv: string[]): Promise<number | void> };

const commands: Record<string, { summary: string }> = {
  features: { summary: 'compute Log-Mel/Δ/ΔΔ features of an audio file' },
  train: { summary: 'train STA-CRNN on a corpus (k-fold, LOSO or all data)' },
  eval: { summary: 'evaluate a saved model on a corpus' },
  analyze: { summary: 'emotion posteriors of one audio file' },
  'export-onnx': { summary: 'export a trained model directory to ONNX' },
  serve: { summary: 'run the streaming WebSocket server' },
  'infer-worker': { summary: 'compute inference for serve --engine remote nodes on the bus' },
  stream: { summary: 'stream a file (or stdin) to a server and print events' },
  mic: { summary: 'stream the microphone to a server and print events' },
  subscribe: { summary: "print a session's events" },
  bench: { summary: 'latency, capacity and engine benchmarks' },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: emostream <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'emostream <command> --help' for a command's options.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    console.error(`emostream: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  let mod: CommandModule;
  try {
    mod = (await import(`./${name}.js`)) as CommandModule;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes(`/cli/${name}`)) {
      console.error(`emostream: '${name}' is not available in this build`);
      return 2;
    }
    throw err;
  }
  return (await mod.run(rest)) ?? 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(formatError(err));
    process.exitCode = err instanceof CliError ? err.exitCode : 1;
  },
);
