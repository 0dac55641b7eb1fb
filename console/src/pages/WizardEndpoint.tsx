import { useState } from 'react';
import { useQuery } from 'urql';
import { describe, errorAt, type FieldErrors } from '../errors.js';
import { prettyBody } from '../format.js';
import { pairsInput } from '../forms.js';
import { graphql, type SchemaType } from '../graphql.js';
import { BUILT_IN_SAMPLE, type SampleEvent } from '../preview.js';
import { Field, KeyValueEditor, KeyValues, useSettled, type Pair } from '../ui.js';

type EndpointInput = SchemaType<'EndpointInput'>;

const METHODS: SchemaType<'HttpMethod'>[] = ['POST', 'PUT', 'PATCH', 'GET', 'DELETE'];
type AuthKind = 'none' | 'apiKey' | 'bearer' | 'basic';

export interface EndpointDraft {
  kind: 'HTTP' | 'EMAIL';
  url: string;
  method: SchemaType<'HttpMethod'>;
  queryParams: Pair[];
  headers: Pair[];
  contentType: string;
  bodyTemplate: string;
  timeoutMs: string;
  emailTo: string;
  authKind: AuthKind;
  apiKeyHeader: string;
  apiKey: string;
  bearerToken: string;
  basicUser: string;
  basicPassword: string;
}

export const emptyEndpoint = (): EndpointDraft => ({
  kind: 'HTTP',
  url: '',
  method: 'POST',
  queryParams: [],
  headers: [],
  contentType: 'application/json',
  bodyTemplate: '',
  timeoutMs: '10000',
  emailTo: '',
  authKind: 'none',
  apiKeyHeader: 'x-api-key',
  apiKey: '',
  bearerToken: '',
  basicUser: '',
  basicPassword: '',
});

export function endpointInput(draft: EndpointDraft, path: string, errors: FieldErrors): EndpointInput {
  if (draft.kind === 'EMAIL') {
    const emailTo = draft.emailTo.split(/[\s,;]+/).filter(Boolean);
    if (!emailTo.length) errors[`${path}.emailTo`] = 'at least one recipient is required';
    return { kind: 'EMAIL', emailTo };
  }
  if (!draft.url.trim()) errors[`${path}.url`] = 'a URL is required';
  const timeoutMs = Number(draft.timeoutMs);
  if (!Number.isInteger(timeoutMs)) errors[`${path}.timeoutMs`] = 'a whole number of milliseconds';
  const auth =
    draft.authKind === 'apiKey'
      ? { apiKeyHeader: draft.apiKeyHeader.trim() || undefined, apiKey: draft.apiKey }
      : draft.authKind === 'bearer'
        ? { bearerToken: draft.bearerToken }
        : draft.authKind === 'basic'
          ? { basicUser: draft.basicUser, basicPassword: draft.basicPassword }
          : undefined;
  return {
    kind: 'HTTP',
    url: draft.url.trim(),
    method: draft.method,
    queryParams: pairsInput(draft.queryParams),
    headers: pairsInput(draft.headers),
    contentType: draft.contentType.trim() || undefined,
    bodyTemplate: draft.bodyTemplate.trim() ? draft.bodyTemplate : undefined,
    timeoutMs: Number.isInteger(timeoutMs) ? timeoutMs : undefined,
    auth,
  };
}

/** The URL as it will be requested: the query string added to the URL's own. */
function fullUrl(draft: EndpointDraft): string {
  const pairs = pairsInput(draft.queryParams);
  if (!pairs.length) return draft.url;
  try {
    const url = new URL(draft.url);
    for (const { key, value } of pairs) url.searchParams.append(key, value);
    return url.href;
  } catch {
    return draft.url;
  }
}

/** What of the webhook being written shapes its endpoints' requests. */
export interface WebhookDraft {
  name: string;
  headers: Pair[];
  properties: Record<string, unknown>;
}

export function EndpointFields({ index, endpoint, onChange, onRemove, errors, samples, webhook }: {
  index: number;
  endpoint: EndpointDraft;
  onChange(change: Partial<EndpointDraft>): void;
  onRemove?: () => void;
  errors: FieldErrors;
  samples: SampleEvent[];
  webhook: WebhookDraft;
}) {
  const path = `input.endpoints[${index}]`;
  const at = (field: string) => errorAt(errors, `${path}.${field}`);
  return (
    <fieldset className="card endpoint">
      <legend>Endpoint {index + 1}</legend>
      {onRemove && (
        <button type="button" className="link remove" onClick={onRemove}>
          Remove
        </button>
      )}
      <div className="endpoint-target">
        <Field label="Kind" error={at('kind')}>
          {(id) => (
            <select id={id} value={endpoint.kind} onChange={(e) => onChange({ kind: e.target.value as EndpointDraft['kind'] })}>
              <option value="HTTP">HTTP request</option>
              <option value="EMAIL">E-mail</option>
            </select>
          )}
        </Field>
        {endpoint.kind === 'EMAIL' ? (
          <Field label="Recipients" error={at('emailTo')} hint="E-mail addresses, separated by commas">
            {(id) => <input id={id} value={endpoint.emailTo} onChange={(e) => onChange({ emailTo: e.target.value })} />}
          </Field>
        ) : (
          <>
            <Field label="Method" error={at('method')}>
              {(id) => (
                <select id={id} value={endpoint.method} onChange={(e) => onChange({ method: e.target.value as EndpointDraft['method'] })}>
                  {METHODS.map((m) => (
                    <option key={m}>{m}</option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="URL" error={at('url')} hint={fullUrl(endpoint) !== endpoint.url ? `Requested as ${fullUrl(endpoint)}` : undefined}>
              {(id) => (
                <input
                  id={id}
                  type="url"
                  placeholder="https://example.com/hooks/hookline"
                  value={endpoint.url}
                  onChange={(e) => onChange({ url: e.target.value })}
                />
              )}
            </Field>
          </>
        )}
      </div>
      {endpoint.kind === 'HTTP' && (
        <div className="form-grid">
          <KeyValueEditor
            label="Query string"
            item="parameter"
            value={endpoint.queryParams}
            onChange={(queryParams) => onChange({ queryParams })}
            error={at('queryParams')}
            keyPlaceholder="parameter"
          />
          <KeyValueEditor label="Headers" value={endpoint.headers} onChange={(headers) => onChange({ headers })} error={at('headers')} />
          <Field label="Content type" error={at('contentType')}>
            {(id) => <input id={id} value={endpoint.contentType} onChange={(e) => onChange({ contentType: e.target.value })} />}
          </Field>
          <Field label="Timeout (ms)" error={at('timeoutMs')}>
            {(id) => (
              <input id={id} inputMode="numeric" value={endpoint.timeoutMs} onChange={(e) => onChange({ timeoutMs: e.target.value })} />
            )}
          </Field>
          <TemplateWithPreview
            endpoint={endpoint}
            onChange={onChange}
            error={at('bodyTemplate')}
            samples={samples}
            webhook={webhook}
          />
          <AuthFields endpoint={endpoint} onChange={onChange} error={at('auth')} />
        </div>
      )}
    </fieldset>
  );
}

function AuthFields({ endpoint, onChange, error }: {
  endpoint: EndpointDraft;
  onChange(change: Partial<EndpointDraft>): void;
  error?: string;
}) {
  const input = (label: string, field: 'apiKeyHeader' | 'apiKey' | 'bearerToken' | 'basicUser' | 'basicPassword', secret = false) => (
    <Field label={label}>
      {(id) => (
        <input
          id={id}
          type={secret ? 'password' : 'text'}
          autoComplete="off"
          value={endpoint[field]}
          onChange={(e) => onChange({ [field]: e.target.value })}
        />
      )}
    </Field>
  );
  return (
    <fieldset className={`field wide auth${error ? ' invalid' : ''}`}>
      <legend>Receiver auth</legend>
      <div className="form-grid three">
        <Field label="Kind">
          {(id) => (
            <select id={id} value={endpoint.authKind} onChange={(e) => onChange({ authKind: e.target.value as AuthKind })}>
              <option value="none">None (the signature only)</option>
              <option value="apiKey">API key header</option>
              <option value="bearer">Bearer token</option>
              <option value="basic">Basic (user and password)</option>
            </select>
          )}
        </Field>
        {endpoint.authKind === 'apiKey' && (
          <>
            {input('Header', 'apiKeyHeader')}
            {input('API key', 'apiKey', true)}
          </>
        )}
        {endpoint.authKind === 'bearer' && input('Token', 'bearerToken', true)}
        {endpoint.authKind === 'basic' && (
          <>
            {input('User', 'basicUser')}
            {input('Password', 'basicPassword', true)}
          </>
        )}
      </div>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
    </fieldset>
  );
}

const PreviewRequest = graphql(`
  query PreviewRequest($endpoint: EndpointInput!, $webhook: PreviewWebhookInput!, $eventId: ID, $event: SampleEventInput) {
    previewRequest(endpoint: $endpoint, webhook: $webhook, eventId: $eventId, event: $event) {
      method url headers { key value } body
    }
  }
`);

/** Until the endpoint has a URL, its request is previewed against this one. */
const EXAMPLE_URL = 'https://receiver.example/hooks';


/**
 * The body template with a live preview of the request this endpoint would send for a sample event, built by the
 * server (previewRequest) with the delivery code itself: body, URL with query, headers with the signature.
 */
function TemplateWithPreview({ endpoint, onChange, error, samples, webhook }: {
  endpoint: EndpointDraft;
  onChange(change: Partial<EndpointDraft>): void;
  error?: string;
  samples: SampleEvent[];
  webhook: WebhookDraft;
}) {
  const [sampleIndex, setSampleIndex] = useState(0);
  const sample = samples[Math.min(sampleIndex, samples.length - 1)];
  const variables = useSettled(
    {
      endpoint: endpointInput({ ...endpoint, url: endpoint.url.trim() || EXAMPLE_URL }, '', {}),
      webhook: { name: webhook.name.trim() || undefined, headers: pairsInput(webhook.headers), properties: webhook.properties },
      ...(sample === BUILT_IN_SAMPLE
        ? { event: { type: sample.type, data: sample.data, context: sample.context } }
        : { eventId: sample.id }),
    },
    250,
  );
  const [result] = useQuery({ query: PreviewRequest, variables, requestPolicy: 'network-only' });
  const preview = result.error ? undefined : result.data?.previewRequest;

  return (
    <div className="template wide">
      <Field label="Body template" error={error} hint={<>Liquid, with <code>event</code>, <code>webhook</code>, <code>endpoint</code> and <code>properties</code>. Empty: the default JSON body.</>}>
        {(id) => (
          <textarea
            id={id}
            className="mono"
            rows={9}
            spellCheck={false}
            placeholder={'{"type": "{{ event.type }}", "name": {{ event.data.name | json }}}'}
            value={endpoint.bodyTemplate}
            onChange={(e) => onChange({ bodyTemplate: e.target.value })}
          />
        )}
      </Field>
      <div className="field preview">
        <div className="preview-header">
          <span className="label">Preview</span>
          <select aria-label="Sample event" value={sampleIndex} onChange={(e) => setSampleIndex(Number(e.target.value))}>
            {samples.map((s, i) => (
              <option key={s.id} value={i}>
                {s === BUILT_IN_SAMPLE ? `Example ${s.type}` : `${s.type} · ${s.id.slice(-6)}`}
              </option>
            ))}
          </select>
        </div>
        {result.error ? (
          <pre className="code preview-body invalid" role="status">
            {describe(result.error)}
          </pre>
        ) : (
          <pre className="code preview-body" data-testid="template-preview">
            {!preview ? '' : preview.body === null ? 'GET requests have no body.' : variables.endpoint.bodyTemplate ? preview.body : prettyBody(preview.body)}
          </pre>
        )}
      </div>
      {preview && (
        <details className="field wide request-preview" data-testid="request-preview">
          <summary>
            The whole request: <span className="mono">{preview.method} {preview.url === EXAMPLE_URL ? `${EXAMPLE_URL} (until a URL is given)` : preview.url}</span>
          </summary>
          <KeyValues pairs={preview.headers} />
          <p className="hint">
            Built and signed as a real delivery; the webhook&rsquo;s secret is made when it is created, so this signature is only an
            example. Credentials show as [redacted].
          </p>
        </details>
      )}
    </div>
  );
}
