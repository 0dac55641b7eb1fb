import { useSubscription } from 'urql';
import { formatDuration, formatPercent } from './format.js';
import { graphql, type ResultOf } from './graphql.js';

export const HealthFields = graphql(`
  fragment HealthNumbers on WebhookHealth {
    webhookId updatedAt pendingCount endpoints { id state }
    attemptCount1h successRate1h p50LatencyMs1h p95LatencyMs1h
    attemptCount24h successRate24h p50LatencyMs24h p95LatencyMs24h
  }
`);

export type Health = ResultOf<typeof HealthFields>;

const HealthUpdates = graphql(
  `
  subscription WebhookHealthUpdates($webhookId: ID!) {
    webhookHealthUpdated(webhookId: $webhookId) { ...HealthNumbers }
  }
`,
  [HealthFields],
);

/**
 * A webhook's health numbers, live: the subscription sends the current numbers first, then new ones as its
 * deliveries change. `initial` (from a list query) shows until then.
 */
export function useWebhookHealth(webhookId: string, initial?: Health): Health | undefined {
  const [pushed] = useSubscription({ query: HealthUpdates, variables: { webhookId } });
  const latest = pushed.data?.webhookHealthUpdated;
  return latest && (!initial || Date.parse(latest.updatedAt) >= Date.parse(initial.updatedAt)) ? latest : initial;
}

/** The last hour's success rate of a webhook's attempts, kept live. */
export function SuccessRate({ webhookId, initial }: { webhookId: string; initial?: Health }) {
  const health = useWebhookHealth(webhookId, initial);
  if (!health || health.successRate1h == null) return <span className="muted">—</span>;
  const tone = health.successRate1h >= 0.99 ? 'good' : health.successRate1h >= 0.9 ? 'warn' : 'bad';
  return (
    <span className={`rate ${tone}`} title={`${health.attemptCount1h} attempts in the last hour`}>
      {formatPercent(health.successRate1h)}
    </span>
  );
}

const latency = (ms: number | null | undefined) => (ms == null ? '—' : formatDuration(ms));

export function HealthNumbers({ health }: { health: Health | undefined }) {
  if (!health) return null;
  const cells: [string, string, string?][] = [
    ['Success, 1 h', formatPercent(health.successRate1h), `${health.attemptCount1h} attempts`],
    ['Success, 24 h', formatPercent(health.successRate24h), `${health.attemptCount24h} attempts`],
    ['Latency p50 / p95, 1 h', `${latency(health.p50LatencyMs1h)} / ${latency(health.p95LatencyMs1h)}`],
    ['Latency p50 / p95, 24 h', `${latency(health.p50LatencyMs24h)} / ${latency(health.p95LatencyMs24h)}`],
    ['Pending', String(health.pendingCount), 'not yet delivered'],
  ];
  return (
    <div className="health" data-testid="health">
      {cells.map(([label, value, note]) => (
        <div className="stat" key={label}>
          <span className="stat-label">{label}</span>
          <span className="stat-value">{value}</span>
          {note && <span className="stat-note">{note}</span>}
        </div>
      ))}
    </div>
  );
}
