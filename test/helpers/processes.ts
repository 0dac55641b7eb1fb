import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface HooklineProcess {
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** The base URL it printed, once it is up; rejects if it exits first or is not up within the time given. */
  url: Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * A real `hookline serve` process, started the way supervisors and containers start it: `node bin/hookline.js
 * serve` (never `npm start`, which would not pass signals on). Its environment is built from nothing but PATH,
 * HOME and `env`, so a DATABASE_URL in the test runner's environment cannot leak in.
 */
export function spawnHookline(env: Record<string, string>, readyWithinMs = 60_000): HooklineProcess {
  const child = spawn(process.execPath, ['bin/hookline.js', 'serve'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not up within ${readyWithinMs} ms:\n${output}`)), readyWithinMs);
    const look = () => {
      const match = /health:\s+(http:\/\/\S+)\/healthz/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', look);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code ?? signal}) before it was up:\n${output}`));
    });
  });
  url.catch(() => {}); // awaited by the tests; this only keeps an early exit from being "unhandled"
  return { child, output: () => output, url, exited };
}
