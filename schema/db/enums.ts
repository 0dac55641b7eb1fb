import { pgEnum } from 'drizzle-orm/pg-core';

export const stateEnum = pgEnum('state', ['ACTIVE', 'STOPPED', 'TOO_MANY_ERRORS']);
export const httpMethodEnum = pgEnum('http_method', ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
export const endpointKindEnum = pgEnum('endpoint_kind', ['HTTP', 'EMAIL']);
export const deliveryStatusEnum = pgEnum('delivery_status', [
  'PENDING',
  'SENDING',
  'RETRYING',
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
]);
export const roleEnum = pgEnum('role', ['ADMIN', 'EDITOR', 'VIEWER']);

export type State = (typeof stateEnum.enumValues)[number];
export type HttpMethod = (typeof httpMethodEnum.enumValues)[number];
export type EndpointKind = (typeof endpointKindEnum.enumValues)[number];
export type DeliveryStatus = (typeof deliveryStatusEnum.enumValues)[number];
export type Role = (typeof roleEnum.enumValues)[number];

/** A header, query parameter or similar ordered pair, stored as a jsonb array to keep order and repeats. */
export interface KeyValue {
  key: string;
  value: string;
}
