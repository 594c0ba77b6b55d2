// `import { Publisher, subscribe } from 'emostream/client'`: the client inside the server package
// (the same code as the emostream-client package, which needs neither tsx nor ONNX Runtime).
import { register } from 'tsx/esm/api';

register();
const client = await import('../src/client/index.ts');

export const { DEFAULT_URL, REPLAY, Publisher, subscribe, ofType, ofChannel, UserError, SUBPROTOCOL_JSON, SUBPROTOCOL_PROTO } = client;
