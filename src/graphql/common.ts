import { resolveCursorConnection, type DefaultConnectionArguments, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { and, asc, desc, gt, lt, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { z } from 'zod';
import { deliveryStatusEnum, endpointKindEnum, httpMethodEnum, roleEnum, stateEnum, type KeyValue } from '../../schema/db/enums.js';
import { badInput } from '../errors.js';
import { builder } from './builder.js';

export const StateEnum = builder.enumType('State', { values: stateEnum.enumValues });
export const HttpMethodEnum = builder.enumType('HttpMethod', { values: httpMethodEnum.enumValues });
export const EndpointKindEnum = builder.enumType('EndpointKind', { values: endpointKindEnum.enumValues });
export const DeliveryStatusEnum = builder.enumType('DeliveryStatus', { values: deliveryStatusEnum.enumValues });
export const RoleEnum = builder.enumType('Role', { values: roleEnum.enumValues });

export const KeyValueRef = builder.objectRef<KeyValue>('KeyValue').implement({
  fields: (t) => ({ key: t.exposeString('key'), value: t.exposeString('value') }),
});

export const KeyValueInput = builder.inputType('KeyValueInput', {
  fields: (t) => ({ key: t.string({ required: true }), value: t.string({ required: true }) }),
});

builder.queryType({});
builder.mutationType({
  // Every mutation changes something: VIEWER tokens get FORBIDDEN, in this one place.
  authScopes: { write: true },
});

/** RFC 7230 token characters for header names; values without control characters. */
export const headerList = z
  .array(
    z.object({
      key: z
        .string()
        .min(1, 'header name is empty')
        .max(256)
        .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'is not a valid HTTP header name'),
      value: z
        .string()
        .max(8192)
        .refine((v) => !/[\r\n\0]/.test(v), 'header value contains a line break or NUL'),
    }),
  )
  .max(50, 'at most 50 entries');

/** What a list query adds for one page: the keyset condition, the order to read in, and how many rows. */
export interface KeysetPage {
  where: SQL | undefined;
  orderBy: SQL;
  limit: number;
}

/**
 * Keyset pagination on the time-sortable id, newest first. The cursor is a row's id: `after` a cursor means older
 * (smaller ids), `before` newer; `last` reads upwards (ascending) and the relay helper reverses the rows. Callers
 * only apply the KeysetPage. `first`/`last` are capped at HOOKLINE_MAX_PAGE_SIZE.
 */
export function pageNewestFirst<T extends { id: string }>(
  args: DefaultConnectionArguments,
  maxSize: number,
  idColumn: AnyPgColumn,
  load: (page: KeysetPage) => Promise<T[]>,
) {
  for (const name of ['first', 'last'] as const) {
    const value = args[name];
    if (value != null && (value < 0 || value > maxSize)) throw badInput(name, `must be between 0 and ${maxSize}`);
  }
  return resolveCursorConnection(
    { args, toCursor: (row: T) => row.id, defaultSize: Math.min(20, maxSize), maxSize },
    ({ after, before, limit, inverted }: ResolveCursorConnectionArgs) =>
      load({
        where: and(after ? lt(idColumn, after) : undefined, before ? gt(idColumn, before) : undefined),
        orderBy: inverted ? asc(idColumn) : desc(idColumn),
        limit,
      }),
  );
}
