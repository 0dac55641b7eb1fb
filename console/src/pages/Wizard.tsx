import { useMemo, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { errorAt, splitErrors, type FieldErrors } from '../errors.js';
import { jsonObject, pairsInput } from '../forms.js';
import { graphql, type VariablesOf } from '../graphql.js';
import { BUILT_IN_SAMPLE, type SampleEvent } from '../preview.js';
import { navigate } from '../router.js';
import { revealSecret } from '../secrets.js';
import { useSession } from '../session.js';
import { ErrorNotice, Field, KeyValueEditor, Page, type Pair } from '../ui.js';
import { EndpointFields, emptyEndpoint, endpointInput, type EndpointDraft } from './WizardEndpoint.js';

const WizardData = graphql(`
  query WizardData {
    teams { id name }
    eventTypes { name resource event count }
    events(first: 10) { edges { node { id type occurredAt context data } } }
  }
`);

const CreateWebhook = graphql(`
  mutation CreateWebhook($input: CreateWebhookInput!) {
    createWebhook(input: $input) { secret webhook { id } }
  }
`);

type CreateWebhookInput = VariablesOf<typeof CreateWebhook>['input'];

interface TriggerDraft {
  resource: string;
  event: string;
  filter: string;
}

interface Draft {
  name: string;
  description: string;
  teamId: string;
  forLogin: string;
  notifyEmail: string;
  headers: Pair[];
  properties: string;
  endpoints: EndpointDraft[];
  triggers: TriggerDraft[];
}

const STEPS = ['Webhook', 'Endpoints', 'Triggers'];

/** The wizard step that holds an input path (`input.endpoints[1].url` is on the second). */
const stepOf = (path: string) => (path.startsWith('input.endpoints') ? 1 : path.startsWith('input.triggers') ? 2 : 0);

/** The first step with an error, if any. */
const firstStep = (errors: FieldErrors): number | undefined => {
  const steps = Object.keys(errors).map(stepOf);
  return steps.length ? Math.min(...steps) : undefined;
};

/**
 * Turns the draft into CreateWebhookInput. Only what the server cannot be sent is checked here (empty required
 * text, JSON that does not parse); everything else is the server's to judge, and its errors come back by field.
 */
function toInput(draft: Draft): { input: CreateWebhookInput; errors: FieldErrors } {
  const errors: FieldErrors = {};
  if (!draft.name.trim()) errors['input.name'] = 'a name is required';
  const input: CreateWebhookInput = {
    name: draft.name.trim(),
    description: draft.description.trim() || undefined,
    teamId: draft.teamId || undefined,
    forLogin: draft.forLogin.trim() || undefined,
    notifyEmail: draft.notifyEmail.trim() || undefined,
    headers: pairsInput(draft.headers),
    properties: jsonObject(draft.properties, 'input.properties', errors),
    endpoints: draft.endpoints.map((endpoint, i) => endpointInput(endpoint, `input.endpoints[${i}]`, errors)),
    triggers: draft.triggers.map((trigger, i) => {
      const path = `input.triggers[${i}]`;
      if (!trigger.resource.trim()) errors[`${path}.resource`] = 'a resource is required (or * for any)';
      if (!trigger.event.trim()) errors[`${path}.event`] = 'an event is required (or * for any)';
      return {
        resource: trigger.resource.trim(),
        event: trigger.event.trim(),
        filter: jsonObject(trigger.filter, `${path}.filter`, errors),
      };
    }),
  };
  return { input, errors };
}

export function WizardPage() {
  const { viewer } = useSession();
  const [{ data }] = useQuery({ query: WizardData });
  const [step, setStep] = useState(0);
  const [draft, setDraft] = useState<Draft>({
    name: '',
    description: '',
    teamId: viewer.team?.id ?? '',
    forLogin: '',
    notifyEmail: '',
    headers: [],
    properties: '',
    endpoints: [emptyEndpoint()],
    triggers: [{ resource: '', event: '', filter: '' }],
  });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [general, setGeneral] = useState<string[]>([]);
  const [creating, createWebhook] = useMutation(CreateWebhook);

  const samples = useMemo<SampleEvent[]>(
    () => [...(data?.events.edges.map((e) => e.node) ?? []), BUILT_IN_SAMPLE],
    [data],
  );
  const update = (change: Partial<Draft>) => setDraft((d) => ({ ...d, ...change }));
  const setEndpoint = (index: number, change: Partial<EndpointDraft>) =>
    update({ endpoints: draft.endpoints.map((e, i) => (i === index ? { ...e, ...change } : e)) });
  const setTrigger = (index: number, change: Partial<TriggerDraft>) =>
    update({ triggers: draft.triggers.map((t, i) => (i === index ? { ...t, ...change } : t)) });

  /** Client-side checks of the steps up to `last`: shows the first step with a problem. */
  const check = (last: number) => {
    const found = Object.fromEntries(Object.entries(toInput(draft).errors).filter(([path]) => stepOf(path) <= last));
    setErrors(found);
    const first = firstStep(found);
    if (first !== undefined) setStep(first);
    return first === undefined;
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (step < STEPS.length - 1) {
      if (check(step)) setStep(step + 1);
      return;
    }
    if (!check(STEPS.length - 1)) return;
    const result = await createWebhook({ input: toInput(draft).input }, { additionalTypenames: ['Webhook'] });
    if (result.data) {
      const { webhook, secret } = result.data.createWebhook;
      revealSecret(webhook.id, secret);
      navigate(`/webhooks/${webhook.id}`);
      return;
    }
    const split = splitErrors(result.error);
    setErrors(split.fields);
    setGeneral(split.general);
    const first = firstStep(split.fields);
    if (first !== undefined) setStep(first);
  };

  const catalogue = data?.eventTypes ?? [];
  return (
    <Page title="Add webhook" subtitle="Name it, say where to send events, then choose which events.">
      <ol className="stepper">
        {STEPS.map((label, index) => (
          <li key={label} className={index === step ? 'current' : index < step ? 'done' : undefined}>
            <button type="button" className="step" onClick={() => index < step && setStep(index)} disabled={index > step}>
              <span className="step-number">{index + 1}</span> {label}
            </button>
          </li>
        ))}
      </ol>
      <form className="wizard" onSubmit={submit} noValidate>
        <ErrorNotice messages={general} />
        {step === 0 && (
          <div className="form-grid">
            <Field label="Name" error={errors['input.name']}>
              {(id) => <input id={id} value={draft.name} onChange={(e) => update({ name: e.target.value })} autoFocus />}
            </Field>
            <Field label="Team" error={errors['input.teamId']} hint={viewer.role === 'ADMIN' ? 'Who may see and change it' : undefined}>
              {(id) => (
                <select
                  id={id}
                  value={draft.teamId}
                  disabled={viewer.role !== 'ADMIN'}
                  onChange={(e) => update({ teamId: e.target.value })}
                >
                  {viewer.role === 'ADMIN' && <option value="">No team (admins only)</option>}
                  {(data?.teams ?? []).map((team) => (
                    <option key={team.id} value={team.id}>
                      {team.name}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="Description" wide error={errors['input.description']}>
              {(id) => (
                <textarea id={id} rows={2} value={draft.description} onChange={(e) => update({ description: e.target.value })} />
              )}
            </Field>
            <Field label="For login" error={errors['input.forLogin']} hint="Only events whose context.login is this">
              {(id) => <input id={id} value={draft.forLogin} onChange={(e) => update({ forLogin: e.target.value })} />}
            </Field>
            <Field label="Notify e-mail" error={errors['input.notifyEmail']} hint="Told when an endpoint is disabled after too many errors">
              {(id) => (
                <input id={id} type="email" value={draft.notifyEmail} onChange={(e) => update({ notifyEmail: e.target.value })} />
              )}
            </Field>
            <details className="wide" open={Boolean(errorAt(errors, 'input.headers') || errors['input.properties'])}>
              <summary>Headers and properties for every endpoint</summary>
              <div className="form-grid">
                <KeyValueEditor
                  label="Headers"
                  value={draft.headers}
                  onChange={(headers) => update({ headers })}
                  error={errorAt(errors, 'input.headers')}
                  hint="Sent with every request to every HTTP endpoint"
                />
                <Field label="Properties" wide error={errors['input.properties']} hint="A JSON object: extra top-level keys of the default body, and `properties` in templates">
                  {(id) => (
                    <textarea
                      id={id}
                      className="mono"
                      rows={3}
                      placeholder='{"tenant": "acme"}'
                      value={draft.properties}
                      onChange={(e) => update({ properties: e.target.value })}
                    />
                  )}
                </Field>
              </div>
            </details>
          </div>
        )}
        {step === 1 && (
          <>
            {draft.endpoints.map((endpoint, index) => (
              <EndpointFields
                key={index}
                index={index}
                endpoint={endpoint}
                onChange={(change) => setEndpoint(index, change)}
                onRemove={draft.endpoints.length > 1 ? () => update({ endpoints: draft.endpoints.filter((_, i) => i !== index) }) : undefined}
                errors={errors}
                samples={samples}
                webhook={{ name: draft.name, headers: draft.headers, properties: jsonObject(draft.properties, 'input.properties', {}) ?? {} }}
              />
            ))}
            <button type="button" className="add-another" onClick={() => update({ endpoints: [...draft.endpoints, emptyEndpoint()] })}>
              + Add another endpoint
            </button>
          </>
        )}
        {step === 2 && (
          <>
            <datalist id="resources">
              {[...new Set(catalogue.map((t) => t.resource))].map((resource) => (
                <option key={resource} value={resource} />
              ))}
            </datalist>
            {draft.triggers.map((trigger, index) => {
              const path = `input.triggers[${index}]`;
              const events = catalogue.filter((t) => t.resource === trigger.resource);
              return (
                <fieldset className="card trigger" key={index}>
                  <legend>Trigger {index + 1}</legend>
                  {draft.triggers.length > 1 && (
                    <button
                      type="button"
                      className="link remove"
                      onClick={() => update({ triggers: draft.triggers.filter((_, i) => i !== index) })}
                    >
                      Remove
                    </button>
                  )}
                  <div className="form-grid three">
                    <Field label="From the catalogue" hint={catalogue.length ? 'Or type a resource and an event' : 'No events published yet: type them'}>
                      {(id) => (
                        <select
                          id={id}
                          value={catalogue.some((t) => t.resource === trigger.resource && t.event === trigger.event) ? `${trigger.resource}.${trigger.event}` : ''}
                          onChange={(e) => {
                            const picked = catalogue.find((t) => t.name === e.target.value);
                            if (picked) setTrigger(index, { resource: picked.resource, event: picked.event });
                          }}
                        >
                          <option value="">Choose an event type…</option>
                          {catalogue.map((t) => (
                            <option key={t.name} value={t.name}>
                              {t.name} ({t.count})
                            </option>
                          ))}
                        </select>
                      )}
                    </Field>
                    <Field label="Resource" error={errors[`${path}.resource`]} hint="e.g. contact, or * for any">
                      {(id) => (
                        <input id={id} list="resources" value={trigger.resource} onChange={(e) => setTrigger(index, { resource: e.target.value })} />
                      )}
                    </Field>
                    <Field label="Event" error={errors[`${path}.event`]} hint="e.g. created, or * for any">
                      {(id) => (
                        <>
                          <input id={id} list={`events-${index}`} value={trigger.event} onChange={(e) => setTrigger(index, { event: e.target.value })} />
                          <datalist id={`events-${index}`}>
                            {events.map((t) => (
                              <option key={t.event} value={t.event} />
                            ))}
                          </datalist>
                        </>
                      )}
                    </Field>
                    <Field label="Filter" wide error={errorAt(errors, `${path}.filter`)} hint='Optional. A JSON object of "dotted.path": value that the event data must all equal'>
                      {(id) => (
                        <textarea
                          id={id}
                          className="mono"
                          rows={2}
                          placeholder='{"customer.country": "SE"}'
                          value={trigger.filter}
                          onChange={(e) => setTrigger(index, { filter: e.target.value })}
                        />
                      )}
                    </Field>
                  </div>
                </fieldset>
              );
            })}
            <button
              type="button"
              className="add-another"
              onClick={() => update({ triggers: [...draft.triggers, { resource: '', event: '', filter: '' }] })}
            >
              + Add another trigger
            </button>
          </>
        )}
        <footer className="wizard-footer">
          <button type="button" onClick={() => (step ? setStep(step - 1) : navigate('/webhooks'))}>
            {step ? 'Back' : 'Cancel'}
          </button>
          <button type="submit" className="primary" disabled={creating.fetching}>
            {step < STEPS.length - 1 ? 'Next' : 'Add webhook'}
          </button>
        </footer>
      </form>
    </Page>
  );
}
