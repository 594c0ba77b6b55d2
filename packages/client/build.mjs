// Builds emostream-client from the one source of the client and protocol (../../src/client,
// ../../src/protocol): JavaScript + .d.ts in dist/, and the protocol schema beside it where
// src/protocol/codec.ts looks for it (../../proto from dist/protocol/).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
// typescript is the root project's dev dependency (workspaces hoist it there).
const tsc = `${here}../../node_modules/typescript/bin/tsc`;
rmSync(`${here}dist`, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', `${here}tsconfig.json`], { stdio: 'inherit' });
mkdirSync(`${here}proto`, { recursive: true });
copyFileSync(`${here}../../proto/emostream.proto`, `${here}proto/emostream.proto`);
