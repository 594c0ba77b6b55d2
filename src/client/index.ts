// The client's public surface: what the emostream-client package (packages/client) exports.
export { DEFAULT_URL, REPLAY, Publisher, subscribe, ofType, ofChannel } from './client.js';
export type { ConnectOptions, PublishOptions, SubscribeOptions } from './client.js';
export { UserError } from '../errors.js';
export { SUBPROTOCOL_JSON, SUBPROTOCOL_PROTO } from '../protocol/messages.js';
export type * from '../protocol/messages.js';
