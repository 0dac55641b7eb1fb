import { useEffect, useState } from 'react';
import { useClient, useMutation, useQuery, type CombinedError } from 'urql';
import { DELIVERY_STATUSES, useDeliveryFeed, type DeliveryStatus } from '../deliveryFeed.js';
import { DeliveryTable } from '../deliveryTable.js';
import { isoToLocalInput, localInputToIso } from '../format.js';
import { graphql } from '../graphql.js';
import { ReplayJobProgress } from '../replayJobs.js';
import { setQuery, useLocation } from '../router.js';
import { Dialog, ErrorNotice, Field, Loading, Page } from '../ui.js';

const WebhookChoices = graphql(`
  query WebhookChoices {
    webhooks(first: 100) { edges { node { id name } } }
  }
`);

const ReplayDeliveries = graphql(`
  mutation ReplayDeliveries($input: ReplayDeliveriesInput!) {
    replayDeliveries(input: $input) { count job { id } }
  }
`);

export function useWebhookChoices() {
  const [{ data }] = useQuery({ query: WebhookChoices });
  return data?.webhooks.edges.map((e) => e.node) ?? [];
}

/** A choice of webhook, `emptyLabel` (default "All webhooks") first with value ''. */
export function WebhookSelect(props: {
  id?: string;
  'aria-label'?: string;
  webhooks: { id: string; name: string }[];
  value: string;
  onChange(value: string): void;
  emptyLabel?: string;
}) {
  return (
    <select id={props.id} aria-label={props['aria-label']} value={props.value} onChange={(e) => props.onChange(e.target.value)}>
      <option value="">{props.emptyLabel ?? 'All webhooks'}</option>
      {props.webhooks.map((w) => (
        <option key={w.id} value={w.id}>
          {w.name}
        </option>
      ))}
    </select>
  );
}

export function DeliveriesPage() {
  const { query } = useLocation();
  const webhookId = query.get('webhook') ?? undefined;
  const status = (query.get('status') as DeliveryStatus | null) ?? undefined;
  const since = query.get('since') ?? undefined;
  const until = query.get('until') ?? undefined;
  const feed = useDeliveryFeed({ webhookId, status: status ? [status] : undefined, since, until });
  const webhooks = useWebhookChoices();
  const [replaying, setReplaying] = useState(false);
  const filtered = Boolean(webhookId || status || since || until);

  return (
    <Page
      title="Deliveries"
      subtitle="Every delivery your token may see, newest first. New ones and status changes appear as they happen."
      actions={
        <button type="button" onClick={() => setReplaying(true)}>
          Replay failed…
        </button>
      }
    >
      <div className="toolbar">
        <WebhookSelect
          aria-label="Webhook"
          webhooks={webhooks}
          value={webhookId ?? ''}
          onChange={(value) => setQuery({ webhook: value })}
        />
        <select aria-label="Status" value={status ?? ''} onChange={(e) => setQuery({ status: e.target.value })}>
          <option value="">Any status</option>
          {DELIVERY_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s.toLowerCase()}
            </option>
          ))}
        </select>
        <label className="inline">
          From
          <input
            type="datetime-local"
            aria-label="Created from"
            value={isoToLocalInput(since)}
            onChange={(e) => setQuery({ since: localInputToIso(e.target.value) })}
          />
        </label>
        <label className="inline">
          to
          <input
            type="datetime-local"
            aria-label="Created before"
            value={isoToLocalInput(until)}
            onChange={(e) => setQuery({ until: localInputToIso(e.target.value) })}
          />
        </label>
        {filtered && (
          <button type="button" className="link" onClick={() => setQuery({ webhook: undefined, status: undefined, since: undefined, until: undefined })}>
            Clear filters
          </button>
        )}
      </div>
      <ErrorNotice error={feed.error} />
      {feed.liveError && <ErrorNotice messages={['Live updates are unavailable; reload to see changes.']} />}
      {feed.loading && !feed.rows.length ? (
        <Loading />
      ) : (
        <DeliveryTable rows={feed.rows} arrived={feed.arrived} empty={filtered ? 'No delivery matches these filters.' : 'No deliveries yet. Publish an event that a webhook’s triggers match.'} />
      )}
      {feed.hasNextPage && (
        <div className="pager">
          <button type="button" disabled={feed.loading} onClick={feed.loadMore}>
            Load older
          </button>
        </div>
      )}
      <ReplayFailedDialog open={replaying} onClose={() => setReplaying(false)} webhooks={webhooks} initialWebhookId={webhookId} />
    </Page>
  );
}

/**
 * Replays the FAILED deliveries of a webhook (or all) in a time range. The count comes from a dry run, shown
 * before anything is sent.
 */
function ReplayFailedDialog({ open, onClose, webhooks, initialWebhookId }: {
  open: boolean;
  onClose(): void;
  webhooks: { id: string; name: string }[];
  initialWebhookId?: string;
}) {
  const client = useClient();
  const [webhookId, setWebhookId] = useState(initialWebhookId ?? '');
  const [since, setSince] = useState(() => isoToLocalInput(new Date(Date.now() - 24 * 3600_000).toISOString()));
  const [until, setUntil] = useState('');
  const [dryRun, setDryRun] = useState<{ count?: number; error?: CombinedError }>({});
  const [done, setDone] = useState<{ count: number; jobId?: string }>();
  const [replay, replayDeliveries] = useMutation(ReplayDeliveries);
  const input = {
    webhookId: webhookId || undefined,
    status: ['FAILED' as const],
    since: localInputToIso(since),
    until: localInputToIso(until),
  };
  const key = JSON.stringify(input);

  useEffect(() => {
    if (open) {
      setDone(undefined);
      setWebhookId(initialWebhookId ?? '');
    }
  }, [open]);
  useEffect(() => {
    if (!open) return;
    let current = true;
    setDryRun({});
    void client
      .mutation(ReplayDeliveries, { input: { ...input, dryRun: true } })
      .toPromise()
      .then((result) => current && setDryRun({ count: result.data?.replayDeliveries.count, error: result.error }));
    return () => {
      current = false;
    };
  }, [open, key]);

  const confirm = async () => {
    const result = await replayDeliveries({ input: { ...input, dryRun: false } }, { additionalTypenames: ['Delivery'] });
    if (result.data) setDone({ count: result.data.replayDeliveries.count, jobId: result.data.replayDeliveries.job?.id });
    else setDryRun({ error: result.error });
  };

  return (
    <Dialog
      open={open}
      title="Replay failed deliveries"
      onClose={onClose}
      footer={
        done === undefined ? (
          <>
            <button type="button" onClick={onClose}>
              Cancel
            </button>
            <button type="button" className="primary" disabled={!dryRun.count || replay.fetching} onClick={confirm}>
              {dryRun.count ? `Replay ${dryRun.count} ${dryRun.count === 1 ? 'delivery' : 'deliveries'}` : 'Replay'}
            </button>
          </>
        ) : (
          <button type="button" className="primary" onClick={onClose}>
            Done
          </button>
        )
      }
    >
      {done === undefined ? (
        <>
          <p>Each failed delivery is sent again as a new delivery to its endpoint (endpoints that are not active are skipped).</p>
          <div className="form-grid">
            <Field label="Webhook" wide>
              {(id) => (
                <WebhookSelect id={id} webhooks={webhooks} value={webhookId} onChange={setWebhookId} />
              )}
            </Field>
            <Field label="Failed from">
              {(id) => <input id={id} type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} />}
            </Field>
            <Field label="Until" hint="Empty: until now">
              {(id) => <input id={id} type="datetime-local" value={until} onChange={(e) => setUntil(e.target.value)} />}
            </Field>
          </div>
          <p className="dry-run" role="status">
            {dryRun.count === undefined && !dryRun.error ? (
              <span className="muted">Counting…</span>
            ) : dryRun.count === 0 ? (
              'No failed deliveries in this range.'
            ) : dryRun.count !== undefined ? (
              <>
                <strong>{dryRun.count}</strong> failed {dryRun.count === 1 ? 'delivery' : 'deliveries'} will be sent again.
              </>
            ) : null}
          </p>
          <ErrorNotice error={dryRun.error} />
        </>
      ) : (
        <>
          <p role="status">
            <strong>{done.count}</strong> {done.count === 1 ? 'delivery' : 'deliveries'} {done.jobId ? 'being queued in the background' : 'queued'}.
            They appear in the feed as they are sent.
          </p>
          {done.jobId && <ReplayJobProgress jobId={done.jobId} />}
        </>
      )}
    </Dialog>
  );
}
