const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "5s" -> 5000. Accepts <n>ms, <n>s, <n>m, <n>h, <n>d. */
export function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a duration like 500ms, 5s, 5m, 2h or 30d`);
  return Number(match[1]) * UNITS[match[2]];
}

/** Half to all of `ms`, at random: processes that lost the database together do not all come back at once. */
export function jittered(ms: number): number {
  return Math.round(ms * (0.5 + Math.random() / 2));
}
