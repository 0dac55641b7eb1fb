import { useMemo, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { splitErrors, type FieldErrors } from '../errors.js';
import { jsonObject } from '../forms.js';
import { graphql, type ResultOf } from '../graphql.js';
import { Link } from '../router.js';
import { useSession } from '../session.js';
import { Badge, Empty, ErrorNotice, Field, Loading, Page, Section, Time } from '../ui.js';

const EventTypesQuery = graphql(`
  query EventTypes {
    eventTypes { name resource event description count firstSeenAt lastSeenAt }
  }
`);

const PublishEvent = graphql(`
  mutation PublishEvent($input: PublishEventInput!) {
    publishEvent(input: $input) {
      duplicate
      event { id type }
      deliveries { id status webhook { id name } }
    }
  }
`);

type Published = ResultOf<typeof PublishEvent>['publishEvent'];

export function EventTypesPage() {
  const [result] = useQuery({
    query: EventTypesQuery,
    context: useMemo(() => ({ additionalTypenames: ['EventType'] }), []),
  });
  const [type, setType] = useState('');
  const types = result.data?.eventTypes ?? [];
  return (
    <Page title="Event types" subtitle="Every event type published so far. Triggers pick from these.">
      <SendTestEvent type={type} setType={setType} types={types.map((t) => t.name)} />
      <Section title="Catalogue">
        <ErrorNotice error={result.error} />
        {!result.data && result.fetching ? (
          <Loading />
        ) : types.length === 0 ? (
          <Empty>No events published yet. Send a test event above, or publish one with the API.</Empty>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>Type</th>
                <th>Description</th>
                <th className="num">Events</th>
                <th>First seen</th>
                <th>Last seen</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {types.map((t) => (
                <tr key={t.name}>
                  <td className="mono">{t.name}</td>
                  <td>{t.description ?? <span className="muted">—</span>}</td>
                  <td className="num">{t.count}</td>
                  <td>
                    <Time value={t.firstSeenAt} />
                  </td>
                  <td>
                    <Time value={t.lastSeenAt} />
                  </td>
                  <td className="row-action">
                    <button type="button" className="link" onClick={() => { setType(t.name); window.scrollTo(0, 0); }}>
                      Send one
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </Page>
  );
}

function SendTestEvent({ type, setType, types }: { type: string; setType(type: string): void; types: string[] }) {
  const { viewer } = useSession();
  const [data, setData] = useState('{\n  "id": "c_1042",\n  "name": "Ada Lovelace"\n}');
  const [context, setContext] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [general, setGeneral] = useState<string[]>([]);
  const [published, setPublished] = useState<Published>();
  const [publishing, publishEvent] = useMutation(PublishEvent);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found: FieldErrors = {};
    const input = {
      type: type.trim(),
      data: jsonObject(data, 'input.data', found) ?? {},
      context: jsonObject(context, 'input.context', found),
    };
    if (!input.type) found['input.type'] = 'an event type is required, like contact.created';
    setErrors(found);
    setGeneral([]);
    if (Object.keys(found).length) return;
    const result = await publishEvent({ input }, { additionalTypenames: ['EventType', 'Delivery'] });
    const split = splitErrors(result.error);
    setErrors(split.fields);
    setGeneral(split.general);
    setPublished(result.data?.publishEvent);
  };

  if (viewer.role === 'VIEWER') return null;
  return (
    <Section title="Send a test event">
      <form className="form-grid panel" onSubmit={submit} noValidate>
        <Field label="Type" error={errors['input.type']} hint="<resource>.<event>, e.g. contact.created">
          {(id) => (
            <>
              <input id={id} list="event-type-names" value={type} onChange={(e) => setType(e.target.value)} placeholder="contact.created" />
              <datalist id="event-type-names">
                {types.map((name) => (
                  <option key={name} value={name} />
                ))}
              </datalist>
            </>
          )}
        </Field>
        <Field label="Context" error={errors['input.context']} hint='Optional JSON object; webhooks "for login" match context.login'>
          {(id) => (
            <input id={id} className="mono" value={context} onChange={(e) => setContext(e.target.value)} placeholder='{"login": "alice"}' />
          )}
        </Field>
        <Field label="Data" wide error={errors['input.data']}>
          {(id) => <textarea id={id} className="mono" rows={5} value={data} onChange={(e) => setData(e.target.value)} />}
        </Field>
        <div className="wide form-actions">
          <button type="submit" className="primary" disabled={publishing.fetching}>
            Publish
          </button>
        </div>
        <div className="wide">
          <ErrorNotice messages={general} />
          {published && (
            <div className="notice info" role="status">
              <p>
                Published <span className="mono">{published.event.type}</span> as{' '}
                <span className="mono">{published.event.id}</span>
                {published.duplicate && ' (a duplicate: nothing new was created)'}:{' '}
                {published.deliveries.length === 0
                  ? 'no webhook matched it.'
                  : `${published.deliveries.length} ${published.deliveries.length === 1 ? 'delivery' : 'deliveries'}.`}
              </p>
              {published.deliveries.length > 0 && (
                <ul className="plain">
                  {published.deliveries.map((d) => (
                    <li key={d.id}>
                      <Link to={`/deliveries/${d.id}`}>{d.webhook.name}</Link> <Badge value={d.status} />
                    </li>
                  ))}
                </ul>
              )}
            </div>
          )}
        </div>
      </form>
    </Section>
  );
}
