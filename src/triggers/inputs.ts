import { z } from 'zod';
import { builder } from '../graphql/builder.js';
import { jsonObject, orDefault } from '../webhooks/fields.js';

type InputFields = PothosSchemaTypes.InputFieldBuilder<typeof builder.$inferSchemaTypes, 'InputObject'>;

const triggerInputFields = (t: InputFields) => ({
  resource: t.string({ required: true, description: 'The part of the event type before the dot, or "*"' }),
  event: t.string({ required: true, description: 'The part of the event type after the dot, or "*"' }),
  filter: t.field({ type: 'JSON', description: 'An object of "dotted.path": value equalities on the event data' }),
});

export const TriggerInput = builder.inputType('TriggerInput', { fields: triggerInputFields });

export const CreateTriggerInput = builder.inputType('CreateTriggerInput', {
  fields: (t) => ({ webhookId: t.id({ required: true }), ...triggerInputFields(t) }),
});

const resource = z
  .string()
  .max(100, 'at most 100 characters')
  .regex(/^(\*|[A-Za-z0-9_-]+)$/, 'must be "*" or letters, digits, "_" and "-"');

/** The event is everything after the resource's dot, so it may hold dots itself (`contact` + `address.changed`). */
const event = z
  .string()
  .max(200, 'at most 200 characters')
  .regex(
    /^(\*|[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*)$/,
    'must be "*" or dot-separated segments of letters, digits, "_" and "-"',
  );

/** Keys are dotted paths into the event's data: non-empty segments separated by single dots. */
const triggerFilter = jsonObject(16 * 1024).superRefine((filter, ctx) => {
  const bad = Object.keys(filter).find((key) => !/^[^.]+(\.[^.]+)*$/.test(key) || key.length > 500);
  if (bad !== undefined) {
    ctx.addIssue({ code: 'custom', message: `key "${bad}" is not a dotted path such as "customer.country"` });
  }
});

export const triggerSchema = z.object({
  resource,
  event,
  filter: orDefault(triggerFilter, null),
});

export type TriggerValues = z.output<typeof triggerSchema>;
