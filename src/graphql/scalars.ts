import { Kind, type ValueNode } from 'graphql';
import { badInput } from '../errors.js';
import { builder } from './builder.js';

builder.scalarType('DateTime', {
  description: 'An instant, as an ISO 8601 string',
  serialize: (value) => (value instanceof Date ? value.toISOString() : new Date(value).toISOString()),
  parseValue: (value) => parseDate(value),
  parseLiteral: (ast) => parseDate(ast.kind === Kind.STRING ? ast.value : undefined),
});

function parseDate(value: unknown): Date {
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
    const date = new Date(value);
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw badInput('DateTime', `"${String(value)}" is not an ISO 8601 date-time`);
}

builder.scalarType('JSON', {
  description: 'Any JSON value',
  serialize: (value) => value,
  // graphql-js builds input objects without a prototype; drizzle and JSON code expect plain ones.
  parseValue: (value) => plainJson(value),
  parseLiteral: (ast, variables) => literalToJson(ast, variables ?? {}),
});

function literalToJson(ast: ValueNode, variables: Record<string, unknown>): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map((v) => literalToJson(v, variables));
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalToJson(f.value, variables)]));
    case Kind.VARIABLE:
      return plainJson(variables[ast.name.value]);
    default:
      throw badInput('JSON', 'not a JSON value');
  }
}

/**
 * A copy made of plain objects and arrays. A walk rather than structuredClone, which serialises and deserialises
 * the whole value (a visible cost per event when publishing thousands at once).
 */
function plainJson(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(plainJson);
  // fromEntries defines own properties: a "__proto__" key stays data, never becomes the copy's prototype.
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, plainJson(item)]));
}
