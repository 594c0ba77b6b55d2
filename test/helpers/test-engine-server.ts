// A server with the deterministic TestEngine in a process of its own (for tests that change the
// process's limits, e.g. `ulimit -n`): prints its port, then its effective limits as JSON.
import { EmostreamServer } from '../../src/server/server.js';
import { TestEngine } from './server-engine.js';

const server = new EmostreamServer({ engine: new TestEngine(), port: 0, limits: { startTimeoutMs: 0 } });
const { port } = await server.listen();
console.log(JSON.stringify({ port, limits: server.limits }));
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
