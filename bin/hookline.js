#!/usr/bin/env node
// The package's entry point: runs the TypeScript sources through tsx, so `npm ci` is the only build step.
// Supervisors and tests run this file directly (not `npm start`) so that signals reach this process.
import { register } from 'tsx/esm/api';

register();
const [command = 'serve'] = process.argv.slice(2);
if (command === 'serve') {
  const { serve } = await import('../src/main.ts');
  await serve();
} else if (command === '--help' || command === 'help') {
  process.stdout.write('usage: hookline serve    start Hookline (configured by environment variables; see README)\n');
} else {
  process.stderr.write(`hookline: unknown command "${command}"; try: hookline serve\n`);
  process.exit(2);
}
