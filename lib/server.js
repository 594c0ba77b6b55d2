// `import { loadEngine, startServer } from 'emostream'`: the server for other programs. The
// TypeScript sources run through tsx's loader, as the CLI's do (bin/emostream.js), so an
// installed package needs no build step.
import { register } from 'tsx/esm/api';

register();
const server = await import('../src/server/server.ts');
const engine = await import('../src/inference/load-engine.ts');

export const { EmostreamServer, startServer, DEFAULT_LIMITS } = server;
export const { loadEngine } = engine;
