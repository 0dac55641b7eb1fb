import type { DeliveryRow } from './deliveryFeed.js';
import { Link, navigate } from './router.js';
import { Badge, Empty, Time } from './ui.js';

export function endpointLabel(endpoint: { kind: string; url?: string | null; emailTo?: readonly string[] | null }) {
  return endpoint.kind === 'EMAIL' ? `mail to ${endpoint.emailTo?.join(', ') ?? ''}` : (endpoint.url ?? '');
}

/** Deliveries, newest first; a row opens the delivery with its attempts. */
export function DeliveryTable({ rows, arrived, showWebhook = true, empty }: {
  rows: readonly DeliveryRow[];
  /** Rows that appeared live: highlighted briefly. */
  arrived?: ReadonlySet<string>;
  showWebhook?: boolean;
  empty: string;
}) {
  if (!rows.length) return <Empty>{empty}</Empty>;
  return (
    <table className="table clickable deliveries">
      <thead>
        <tr>
          <th>Created</th>
          <th>Status</th>
          <th>Event</th>
          {showWebhook && <th>Webhook</th>}
          <th>Endpoint</th>
          <th className="num">Attempts</th>
          <th>Last answer</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr
            key={row.id}
            className={arrived?.has(row.id) ? 'arrived' : undefined}
            data-id={row.id}
            data-status={row.status}
            onClick={() => navigate(`/deliveries/${row.id}`)}>
            <td>
              <Link to={`/deliveries/${row.id}`} onClick={(e) => e.stopPropagation()}>
                <Time value={row.createdAt} />
              </Link>
            </td>
            <td>
              <Badge value={row.status} />
              {row.replayOf && <span className="tag">replay</span>}
            </td>
            <td className="mono small">{row.event.type}</td>
            {showWebhook && <td>{row.webhook.name}</td>}
            <td className="clip mono small" title={endpointLabel(row.endpoint)}>
              {endpointLabel(row.endpoint)}
            </td>
            <td className="num">{row.attemptCount}</td>
            <td className="clip small" title={row.lastError ?? undefined}>
              {row.lastResponseStatus != null && (
                <span className={`status-code ${row.lastResponseStatus >= 200 && row.lastResponseStatus < 300 ? 'good' : 'bad'}`}>{row.lastResponseStatus} </span>
              )}
              {row.lastError && row.lastError !== `HTTP ${row.lastResponseStatus}` && <span className="muted">{row.lastError}</span>}
              {row.status === 'RETRYING' && row.nextAttemptAt && (
                <span className="muted">
                  {' '}
                  · next <Time value={row.nextAttemptAt} />
                </span>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
