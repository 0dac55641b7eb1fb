import { resolveCursorConnection, type DefaultConnectionArguments, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
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

/**
 * Keyset pagination on the time-sortable id. `newestFirst` lists in descending id order. The cursor is the id of
 * the last row; `first` is capped at HOOKLINE_MAX_PAGE_SIZE.
 */
export function pageById<T extends { id: string }>(
  args: DefaultConnectionArguments,
  maxSize: number,
  newestFirst: boolean,
  load: (page: { after?: string; before?: string; limit: number; descending: boolean }) => Promise<T[]>,
) {
  for (const name of ['first', 'last'] as const) {
    const value = args[name];
    if (value != null && (value < 0 || value > maxSize)) throw badInput(name, `must be between 0 and ${maxSize}`);
  }
  return resolveCursorConnection(
    { args, toCursor: (row: T) => row.id, defaultSize: Math.min(20, maxSize), maxSize },
    ({ after, before, limit, inverted }: ResolveCursorConnectionArgs) =>
      load({ after, before, limit, descending: newestFirst !== inverted }),
  );
}
