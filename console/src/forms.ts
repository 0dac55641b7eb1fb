import type { FieldErrors } from './errors.js';
import type { Pair } from './ui.js';

/** Pairs as input: rows left wholly blank are dropped. */
export const pairsInput = (pairs: Pair[]) => pairs.filter((p) => p.key.trim() || p.value.trim());

/** Parses an optional JSON object field; records a message under `path` when it is not one. */
export function jsonObject(text: string, path: string, errors: FieldErrors): Record<string, unknown> | undefined {
  if (!text.trim()) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  errors[path] = 'must be a JSON object, like {"key": "value"}';
  return undefined;
}
