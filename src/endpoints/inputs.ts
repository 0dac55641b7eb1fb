import { z } from 'zod';
import { endpointKindEnum, httpMethodEnum } from '../../schema/db/enums.js';
import type { EndpointAuth } from '../../schema/db/webhooks.js';
import { templateError } from '../delivery/liquid.js';
import { badInput } from '../errors.js';
import { builder } from '../graphql/builder.js';
import { EndpointKindEnum, HttpMethodEnum, KeyValueInput } from '../graphql/common.js';
import type { TargetPolicy } from '../security/targets.js';
import { email, headerName, orDefault, requestHeaders, text } from '../webhooks/fields.js';

/** Defaults of EndpointInput: given by GraphQL on create, and what an explicit null resets a field to. */
export const ENDPOINT_DEFAULTS = {
  kind: 'HTTP',
  method: 'POST',
  contentType: 'application/json',
  timeoutMs: 10_000,
  maxConcurrency: 8,
  apiKeyHeader: 'x-api-key',
} as const;

type InputFields = PothosSchemaTypes.InputFieldBuilder<typeof builder.$inferSchemaTypes, 'InputObject'>;

export const EndpointAuthInput = builder.inputType('EndpointAuthInput', {
  description: 'Credentials sent to the receiver; give one kind. Write-only: they are never returned.',
  fields: (t) => ({
    apiKey: t.string(),
    apiKeyHeader: t.string({ defaultValue: ENDPOINT_DEFAULTS.apiKeyHeader }),
    bearerToken: t.string(),
    basicUser: t.string(),
    basicPassword: t.string(),
  }),
});

/** The EndpointInput fields; `withDefaults` is false for updates, where a missing field means "unchanged". */
function endpointInputFields(t: InputFields, withDefaults: boolean) {
  const d = <T>(value: T) => (withDefaults ? { defaultValue: value } : {});
  return {
    kind: t.field({ type: EndpointKindEnum, ...d(ENDPOINT_DEFAULTS.kind) }),
    url: t.string(),
    method: t.field({ type: HttpMethodEnum, ...d(ENDPOINT_DEFAULTS.method) }),
    queryParams: t.field({ type: [KeyValueInput] }),
    headers: t.field({ type: [KeyValueInput] }),
    contentType: t.string({ ...d(ENDPOINT_DEFAULTS.contentType) }),
    bodyTemplate: t.string({ description: 'Liquid; renders the body from event, webhook, endpoint and properties' }),
    auth: t.field({ type: EndpointAuthInput }),
    timeoutMs: t.int({ ...d(ENDPOINT_DEFAULTS.timeoutMs) }),
    maxConcurrency: t.int({
      description: 'At most this many attempts to this endpoint at once, across all workers (1 to 1000)',
      ...d(ENDPOINT_DEFAULTS.maxConcurrency),
    }),
    rateLimitPerSecond: t.int({ description: 'At most this many attempts started per second; null: no limit' }),
    emailTo: t.stringList({ description: 'EMAIL endpoints: 1 to 20 recipients' }),
  };
}

export const EndpointInput = builder.inputType('EndpointInput', { fields: (t) => endpointInputFields(t, true) });

export const CreateEndpointInput = builder.inputType('CreateEndpointInput', {
  fields: (t) => ({ webhookId: t.id({ required: true }), ...endpointInputFields(t, true) }),
});

export const UpdateEndpointInput = builder.inputType('UpdateEndpointInput', {
  description: 'The endpoint id and the fields to change; null resets a field to its default (or clears it).',
  fields: (t) => ({ id: t.id({ required: true }), ...endpointInputFields(t, false) }),
});

/** http(s) only, no credentials in it; normalised by the WHATWG parser (so `0x7f.1` is stored as it is meant). */
const httpUrl = z
  .string()
  .max(2048, 'at most 2048 characters')
  .transform((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a valid URL` });
      return z.NEVER;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: `must be an http or https URL, not ${url.protocol}` });
    } else if (url.username || url.password) {
      ctx.addIssue({ code: 'custom', message: 'may not contain a user name or password (use auth instead)' });
    }
    return url.href;
  });

/** Query parameters: any non-empty name (`ids[]` included); URLSearchParams encodes them when the URL is built. */
const queryParamList = z
  .array(
    z.object({
      key: z.string().min(1, 'parameter name is empty').max(256, 'at most 256 characters'),
      value: z.string().max(8192, 'at most 8192 characters'),
    }),
  )
  .max(50, 'at most 50 entries');

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const mediaType = z
  .string()
  .max(255, 'at most 255 characters')
  .regex(
    new RegExp(`^${TOKEN}/${TOKEN}(\\s*;\\s*${TOKEN}=(${TOKEN}|"[^"\\\\\\r\\n]*"))*$`),
    'is not a media type (type/subtype, optionally with ;name=value parameters)',
  );

const liquidTemplate = text
  .max(64 * 1024, 'at most 64 KiB')
  .superRefine((source, ctx) => {
    const error = templateError(source);
    if (error) ctx.addIssue({ code: 'custom', message: `is not a valid Liquid template: ${error}` });
  });

const credential = z
  .string()
  .max(4096, 'at most 4096 characters')
  .refine((v) => !/[\r\n\0]/.test(v), 'contains a line break or NUL');

const endpointAuth = z
  .object({
    apiKey: credential.min(1, 'must not be empty').nullish(),
    apiKeyHeader: headerName.nullish(),
    bearerToken: credential.min(1, 'must not be empty').nullish(),
    basicUser: credential
      .min(1, 'must not be empty')
      .refine((v) => !v.includes(':'), 'may not contain ":"')
      .nullish(),
    basicPassword: credential.nullish(),
  })
  .superRefine((auth, ctx) => {
    const kinds = [auth.apiKey != null, auth.bearerToken != null, auth.basicUser != null || auth.basicPassword != null];
    if (kinds.filter(Boolean).length > 1) {
      ctx.addIssue({ code: 'custom', message: 'give only one of apiKey, bearerToken or basicUser/basicPassword' });
    } else if (!kinds.includes(true)) {
      // Credentials are write-only, so they are replaced whole: `{ apiKeyHeader }` alone would silently drop the key.
      ctx.addIssue({
        code: 'custom',
        message: 'give one of apiKey, bearerToken or basicUser/basicPassword (or auth: null to remove them)',
      });
    } else if (auth.basicPassword != null && auth.basicUser == null) {
      ctx.addIssue({ code: 'custom', path: ['basicUser'], message: 'is needed with basicPassword' });
    }
  })
  .transform((auth): EndpointAuth => {
    if (auth.apiKey != null) {
      return { apiKey: auth.apiKey, apiKeyHeader: auth.apiKeyHeader ?? ENDPOINT_DEFAULTS.apiKeyHeader };
    }
    if (auth.bearerToken != null) return { bearerToken: auth.bearerToken };
    return { basicUser: auth.basicUser!, basicPassword: auth.basicPassword ?? '' };
  });

/**
 * One endpoint's settings, whole (an update is validated merged with the stored endpoint). An HTTP endpoint needs
 * a url, an EMAIL endpoint recipients; the field of the other kind is dropped.
 */
export const endpointSchema = z
  .object({
    kind: orDefault(z.enum(endpointKindEnum.enumValues), ENDPOINT_DEFAULTS.kind),
    url: orDefault(httpUrl, null),
    method: orDefault(z.enum(httpMethodEnum.enumValues), ENDPOINT_DEFAULTS.method),
    queryParams: orDefault(queryParamList, []),
    headers: orDefault(requestHeaders, []),
    contentType: orDefault(mediaType, ENDPOINT_DEFAULTS.contentType),
    bodyTemplate: orDefault(liquidTemplate, null),
    auth: orDefault(endpointAuth, null),
    timeoutMs: orDefault(
      z.number().int().min(100, 'must be at least 100 (ms)').max(30_000, 'must be at most 30000 (ms)'),
      ENDPOINT_DEFAULTS.timeoutMs,
    ),
    maxConcurrency: orDefault(
      z.number().int().min(1, 'must be at least 1').max(1000, 'must be at most 1000'),
      ENDPOINT_DEFAULTS.maxConcurrency,
    ),
    rateLimitPerSecond: orDefault(
      z.number().int().min(1, 'must be at least 1 (null: no limit)').max(100_000, 'must be at most 100000'),
      null,
    ),
    emailTo: orDefault(z.array(email).min(1, 'needs at least one address').max(20, 'at most 20 addresses'), null),
  })
  .superRefine((endpoint, ctx) => {
    if (endpoint.kind === 'HTTP' && !endpoint.url) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'an HTTP endpoint needs a url' });
    }
    if (endpoint.kind === 'EMAIL' && !endpoint.emailTo) {
      ctx.addIssue({ code: 'custom', path: ['emailTo'], message: 'an EMAIL endpoint needs 1 to 20 addresses' });
    }
  })
  .transform((endpoint) => ({
    ...endpoint,
    url: endpoint.kind === 'HTTP' ? endpoint.url : null,
    emailTo: endpoint.kind === 'EMAIL' ? endpoint.emailTo : null,
  }));

export type EndpointValues = z.output<typeof endpointSchema>;

/**
 * Refuses URLs whose host is (or resolves to) a private, loopback, link-local or metadata address, unless the
 * configuration allows it. All hosts are checked at once; the first refused one (in input order) is reported.
 */
export async function assertPublicTargets(
  targets: TargetPolicy,
  items: { url: string | null; field: string }[],
): Promise<void> {
  const results = await Promise.all(items.map((item) => (item.url ? targets.check(new URL(item.url)) : undefined)));
  results.forEach((result, i) => {
    if (result && !result.ok) throw badInput(items[i].field, result.reason);
  });
}
