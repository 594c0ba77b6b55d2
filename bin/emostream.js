#!/usr/bin/env node
// Runs the TypeScript CLI in this process through tsx's loader, so a clone works without a
// build step and signals (Ctrl-C flushing a stream) reach the command itself.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
