import { useEffect, useState } from 'react';
import { useMutation, useSubscription, type CombinedError } from 'urql';
import { errorAt, splitErrors } from './errors.js';
import { localInputToIso } from './format.js';
import { graphql } from './graphql.js';
import { Badge, Dialog, ErrorNotice, Field } from './ui.js';

const ReplayJobUpdates = graphql(`
  subscription ReplayJobUpdates($id: ID!) {
    replayJobUpdated(id: $id) { id kind status dryRun total processed created skipped progress error }
  }
`);

const RedeliverEvents = graphql(`
  mutation RedeliverEvents($input: RedeliverEventsInput!) {
    redeliverEvents(input: $input) { job { id } }
  }
`);

/** A replay job's progress, live: the subscription sends the job as it is, then after every page. */
export function ReplayJobProgress({ jobId }: { jobId: string }) {
  const [{ data, error }] = useSubscription({ query: ReplayJobUpdates, variables: { id: jobId } });
  const job = data?.replayJobUpdated;
  if (!job) return error ? <ErrorNotice error={error} /> : <p className="muted">Starting…</p>;
  const finished = job.status === 'SUCCEEDED' || job.status === 'FAILED';
  const unit = job.kind === 'REDELIVER_EVENTS' ? 'events' : 'deliveries';
  return (
    <div className="replay-job" data-testid="replay-job" data-status={job.status} role="status">
      <p>
        <Badge value={job.status} /> {job.processed} of {job.total ?? '…'} {unit} looked at
      </p>
      <progress max={1} value={job.progress ?? 0} aria-label="Progress" />
      <p className="small">
        <strong data-testid="replay-job-created">{job.created}</strong>{' '}
        {job.dryRun ? 'deliveries would be created' : `${job.created === 1 ? 'delivery' : 'deliveries'} created`}
        {job.kind === 'REDELIVER_EVENTS' && <> · {job.skipped} not matched by the triggers now</>}
        {finished && !job.dryRun && job.created > 0 && <> · they appear among the deliveries as they are sent</>}
      </p>
      {job.error && <ErrorNotice messages={[job.error]} />}
    </div>
  );
}

/**
 * "Send event history": the stored events of a time range that the webhook's triggers match now, sent to one
 * endpoint (redeliverEvents), with the job's progress shown live once started.
 */
export function SendHistoryDialog({ endpointId, open, onClose }: { endpointId: string; open: boolean; onClose(): void }) {
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [types, setTypes] = useState('');
  const [dryRun, setDryRun] = useState(false);
  const [jobId, setJobId] = useState<string>();
  const [error, setError] = useState<CombinedError>();
  const [sending, redeliverEvents] = useMutation(RedeliverEvents);
  useEffect(() => {
    if (open) {
      setJobId(undefined);
      setError(undefined);
    }
  }, [open]);
  const { fields, general } = splitErrors(error);

  const start = async () => {
    const list = types.split(',').map((t) => t.trim()).filter(Boolean);
    const input = { endpointId, since: localInputToIso(since), until: localInputToIso(until), types: list.length ? list : undefined, dryRun };
    const result = await redeliverEvents({ input });
    setError(result.error);
    setJobId(result.data?.redeliverEvents.job.id);
  };

  return (
    <Dialog
      open={open}
      title="Send event history"
      onClose={onClose}
      footer={
        jobId ? (
          <>
            <button type="button" onClick={() => setJobId(undefined)}>
              Another…
            </button>
            <button type="button" className="primary" onClick={onClose}>
              Close
            </button>
          </>
        ) : (
          <>
            <button type="button" onClick={onClose}>
              Cancel
            </button>
            <button type="button" className="primary" disabled={sending.fetching} onClick={start}>
              {dryRun ? 'Count' : 'Send'}
            </button>
          </>
        )
      }
    >
      {jobId ? (
        <ReplayJobProgress jobId={jobId} />
      ) : (
        <>
          <p>
            Every stored event in the range that this webhook&rsquo;s triggers match <em>now</em> is sent to this endpoint,
            also events that matched nothing when they were published. It runs in the background.
          </p>
          <ErrorNotice messages={general} />
          <div className="form-grid">
            <Field label="Occurred from" hint="Empty: the oldest stored event" error={errorAt(fields, 'input.since')}>
              {(id) => <input id={id} type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} />}
            </Field>
            <Field label="Until" hint="Empty: until now" error={errorAt(fields, 'input.until')}>
              {(id) => <input id={id} type="datetime-local" value={until} onChange={(e) => setUntil(e.target.value)} />}
            </Field>
            <Field label="Event types" hint="Comma-separated, e.g. order.created; empty: all" error={errorAt(fields, 'input.types')} wide>
              {(id) => <input id={id} value={types} placeholder="order.created, order.paid" onChange={(e) => setTypes(e.target.value)} />}
            </Field>
          </div>
          <label className="inline">
            <input type="checkbox" checked={dryRun} onChange={(e) => setDryRun(e.target.checked)} /> Dry run: only count
          </label>
          {errorAt(fields, 'input.endpointId') && <ErrorNotice messages={[errorAt(fields, 'input.endpointId')!]} />}
        </>
      )}
    </Dialog>
  );
}
