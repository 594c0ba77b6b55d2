// The CLI's line for `ready` shows the viewers' command when the server handed out a session token.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatMessage } from '../src/client/format.js';
import type { ServerMessage } from '../src/protocol/messages.js';

const ready = {
  type: 'ready',
  v: 1,
  session: 'call-42',
  model: 'basic-4',
  backend: 'onnxruntime-cpu',
  labels: ['angry', 'happy', 'sad', 'neutral'],
  windowMs: 3000,
  hopMs: 1000,
} as unknown as ServerMessage;

test('ready without a session token: one line, no viewers hint', () => {
  const line = formatMessage(ready);
  assert.ok(line.startsWith('session call-42 · model basic-4'));
  assert.not.match(line, /viewers/);
});

test('ready with a session token: the command a viewer runs', () => {
  const line = formatMessage({ ...ready, subscribeToken: 'tok123' } as ServerMessage);
  assert.match(line, /\n {2}viewers: emostream subscribe call-42 --token tok123$/);
});

test.run();
