import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger.js';

/** A logger like the app's own (same redaction), writing into memory: the text, or its lines as entries. */
export function capturedLogs(level: string) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return {
    logger: createLogger(level, destination),
    text: () => lines.join(''),
    entries: () => lines.flatMap((chunk) => chunk.trim().split('\n')).map((line) => JSON.parse(line)),
  };
}
