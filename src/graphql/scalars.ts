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
  parseValue: (value) => (value === undefined ? undefined : structuredClone(value)),
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
      return structuredClone(variables[ast.name.value]);
    default:
      throw badInput('JSON', 'not a JSON value');
  }
}
