// One readable line per server message, for the CLI (`--json` prints the messages as they are).
import type { ServerMessage } from '../protocol/messages.js';

function sec(ms: number): string {
  return (ms / 1000).toFixed(2).padStart(6);
}

export function formatMessage(m: ServerMessage): string {
  switch (m.type) {
    case 'ready': {
      const head = `session ${m.session} · model ${m.model} (${m.backend}) · labels ${m.labels.join(', ')} · window ${m.windowMs} ms, hop ${m.hopMs} ms`;
      // The publisher's own token for viewers of this session only (servers with tokens send it).
      return m.subscribeToken ? `${head}\n  viewers: emostream subscribe ${m.session} --token ${m.subscribeToken}` : head;
    }
    case 'posterior': {
      const entries = Object.entries(m.probs);
      const top = entries.reduce((a, b) => (b[1] > a[1] ? b : a), entries[0] ?? ['', 0]);
      const probs = entries.map(([l, p]) => `${l} ${p.toFixed(2)}`).join('  ');
      return `[${sec(m.startMs)} –${sec(m.endMs)} s] #${m.seq}  ${probs}  → ${top[0]}  speech ${Math.round(m.speech * 100)}%  latency ${Math.round(m.latencyMs)} ms`;
    }
    case 'emotion': {
      const what = m.kind === 'change' ? `${m.previous} → ${m.label}` : m.label;
      return `*${sec(m.atMs)} s  emotion ${m.kind.padEnd(6)} ${what} (${m.confidence.toFixed(2)})`;
    }
    case 'speech':
      return ` ${sec(m.atMs)} s  speech ${m.active ? 'on' : 'off'}`;
    case 'utterance': {
      const probs = Object.entries(m.probs)
        .map(([l, p]) => `${l} ${p.toFixed(2)}`)
        .join('  ');
      return `»${sec(m.startMs)} –${sec(m.endMs)} s  turn  ${m.label} (${m.confidence.toFixed(2)})  ${probs}  ${m.windows} window(s)`;
    }
    case 'error':
      return `! error [${m.code}]${m.fatal ? ' (fatal)' : ''}: ${m.message}`;
    case 'end':
      return `end: ${m.windows} window(s), ${(m.audioMs / 1000).toFixed(2)} s of audio${m.skipped ? `, ${m.skipped} skipped (server overloaded)` : ''}`;
    case 'pong':
      return `pong ${m.id}`;
  }
}

/** A track's lines start with its channel, indented by it, so two tracks read as two columns of events. */
export function formatTrackMessage(m: ServerMessage): string {
  const line = formatMessage(m);
  if (!('channel' in m)) return line;
  return `ch${m.channel} ${'  '.repeat(m.channel)}${line}`;
}

/** Prints each message as a readable line (errors to stderr), or as one JSON line when `json`;
 *  `tracks`: the session keeps channels apart, so each line names its channel. */
export function messagePrinter(json: boolean, tracks = false): (m: ServerMessage) => void {
  const format = tracks ? formatTrackMessage : formatMessage;
  return (m) => {
    if (json) process.stdout.write(JSON.stringify(m) + '\n');
    else if (m.type === 'error') console.error(format(m));
    else console.log(format(m));
  };
}
