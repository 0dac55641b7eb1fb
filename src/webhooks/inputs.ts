import { z } from 'zod';
import type { webhooks } from '../../schema/db/webhooks.js';
import { EndpointInput, endpointSchema } from '../endpoints/inputs.js';
import { builder } from '../graphql/builder.js';
import { KeyValueInput, StateEnum } from '../graphql/common.js';
import { TriggerInput, triggerSchema } from '../triggers/inputs.js';
import { email, jsonObject, orDefault, requestHeaders, text } from './fields.js';
import { secretProblem } from './secret.js';

type InputFields = PothosSchemaTypes.InputFieldBuilder<typeof builder.$inferSchemaTypes, 'InputObject'>;

/** The settings of a webhook itself, shared by create and update. */
const webhookInputFields = (t: InputFields, withDefaults: boolean) => ({
  name: t.string({ required: withDefaults }),
  description: t.string(),
  state: t.field({ type: StateEnum, ...(withDefaults ? { defaultValue: 'ACTIVE' as const } : {}) }),
  headers: t.field({ type: [KeyValueInput], description: 'Sent with every request to every HTTP endpoint' }),
  properties: t.field({
    type: 'JSON',
    description: 'Extra top-level keys of the default body; `properties` in templates',
  }),
  teamId: t.id({ description: 'ADMIN: the owning team (none: ADMIN-only). Team tokens: always their own team' }),
  forLogin: t.string({ description: 'Only events whose context.login equals this' }),
  notifyEmail: t.string({ description: 'Told when an endpoint is disabled after too many errors' }),
});

export const CreateWebhookInput = builder.inputType('CreateWebhookInput', {
  fields: (t) => ({
    ...webhookInputFields(t, true),
    secret: t.string({ description: '"whsec_" + base64 of 24 to 64 bytes; generated when not given' }),
    endpoints: t.field({ type: [EndpointInput] }),
    triggers: t.field({ type: [TriggerInput] }),
  }),
});

export const UpdateWebhookInput = builder.inputType('UpdateWebhookInput', {
  description: 'The webhook id and the fields to change; null clears a field (or resets it to its default).',
  fields: (t) => ({ id: t.id({ required: true }), ...webhookInputFields(t, false) }),
});

/** Users may start and stop things; TOO_MANY_ERRORS is Hookline's own verdict on an endpoint. */
export const settableState = z.enum(['ACTIVE', 'STOPPED'], {
  message: 'must be ACTIVE or STOPPED (TOO_MANY_ERRORS is set by Hookline itself)',
});

/** A webhook's own settings, whole: an update is validated merged with the stored webhook. */
export const webhookSchema = z.object({
  name: text.trim().min(1, 'must not be empty').max(200, 'at most 200 characters'),
  description: orDefault(text.max(2000, 'at most 2000 characters'), null),
  state: orDefault(settableState, 'ACTIVE' as const),
  headers: orDefault(requestHeaders, []),
  properties: orDefault(jsonObject(64 * 1024), null),
  teamId: orDefault(text, null),
  forLogin: orDefault(text.trim().min(1, 'must not be empty').max(200, 'at most 200 characters'), null),
  notifyEmail: orDefault(email, null),
});

export const createWebhookSchema = webhookSchema.extend({
  secret: orDefault(
    z.string().superRefine((secret, ctx) => {
      const problem = secretProblem(secret);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    null,
  ),
  endpoints: orDefault(z.array(endpointSchema).max(20, 'at most 20 endpoints'), []),
  triggers: orDefault(z.array(triggerSchema).max(100, 'at most 100 triggers'), []),
});

/** A stored webhook as webhook input, to merge an update into. */
export const webhookAsInput = (row: typeof webhooks.$inferSelect) => ({
  name: row.name,
  description: row.description,
  state: row.state,
  headers: row.headers,
  properties: row.properties,
  teamId: row.teamId,
  forLogin: row.forLogin,
  notifyEmail: row.notifyEmail,
});

/** The fields an update names: GraphQL leaves out the ones not given, and `id` is not a setting. */
export function changes<T extends { id: string }>(input: T): Omit<T, 'id'> {
  const { id: _id, ...rest } = input;
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as Omit<T, 'id'>;
}
