/**
 * Terminal output for the CLI: ANSI colours only when the stream is a terminal and NO_COLOR is not set
 * (https://no-color.org), so piped output and logs stay plain.
 */
const CODES = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], cyan: [36, 39] } as const;

export type Style = keyof typeof CODES;

export interface Painter {
  (style: Style, text: string): string;
}

export function painter(stream: NodeJS.WriteStream, noColor: string | undefined): Painter {
  const enabled = Boolean(stream.isTTY) && noColor === undefined;
  return (style, text) => (enabled ? `\u001b[${CODES[style][0]}m${text}\u001b[${CODES[style][1]}m` : text);
}

/** The colour of an HTTP status as a developer reads it: 2xx fine, 3xx/4xx suspicious, 5xx and errors bad. */
export function statusStyle(status: number | null): Style {
  if (status === null || status >= 500) return 'red';
  if (status >= 200 && status < 300) return 'green';
  return 'yellow';
}

/** HH:MM:SS in local time, for live lines. */
export function clock(date = new Date()): string {
  return date.toTimeString().slice(0, 8);
}
