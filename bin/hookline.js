#!/usr/bin/env node
// The package's entry point: runs the TypeScript sources through tsx, so `npm ci` is the only build step.
// Supervisors and tests run this file directly (not `npm start`) so that signals reach this process.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
