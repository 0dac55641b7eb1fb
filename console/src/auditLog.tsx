import { useMemo, useState, type ReactNode } from 'react';
import { useQuery } from 'urql';
import { graphql, type ResultOf } from './graphql.js';
import { Empty, ErrorNotice, Json, Loading, Section, Time } from './ui.js';

const PAGE_SIZE = 20;

const WebhookAuditLog = graphql(`
  query WebhookAuditLog($id: ID!, $first: Int!, $after: String) {
    node(id: $id) {
      ... on Webhook {
        id
        auditLog(first: $first, after: $after) {
          edges { node { id at actor action targetType targetId before after } }
          pageInfo { hasNextPage endCursor }
        }
      }
    }
  }
`);

type Entry = Extract<
  NonNullable<ResultOf<typeof WebhookAuditLog>['node']>,
  { auditLog: unknown }
>['auditLog']['edges'][number]['node'];

// Changes to endpoints and triggers are in the webhook's log too: their mutations refetch it (document cache).
const REFETCH_ON = { additionalTypenames: ['Endpoint', 'Trigger', 'Delivery', 'AuditEntry'] };

/** Who changed what in a webhook (its endpoints and triggers included), newest first, page after page. */
export function AuditLog({ webhookId }: { webhookId: string }) {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  return (
    <Section title="Audit log">
      <table className="table audit-log">
        <thead>
          <tr>
            <th>Time</th>
            <th>Actor</th>
            <th>Action</th>
            <th>Changes</th>
          </tr>
        </thead>
        {cursors.map((after, i) => (
          <AuditPage
            key={after ?? 'first'}
            webhookId={webhookId}
            after={after}
            onMore={i === cursors.length - 1 ? (next) => setCursors([...cursors, next]) : undefined}
          />
        ))}
      </table>
    </Section>
  );
}

/** One page of entries; the last page offers the next one. */
function AuditPage({ webhookId, after, onMore }: { webhookId: string; after: string | null; onMore?: (cursor: string) => void }) {
  const [result] = useQuery({
    query: WebhookAuditLog,
    variables: { id: webhookId, first: PAGE_SIZE, after },
    context: useMemo(() => REFETCH_ON, []),
  });
  const log = result.data?.node && 'auditLog' in result.data.node ? result.data.node.auditLog : undefined;
  const status = (content: ReactNode) => (
    <tbody>
      <tr>
        <td colSpan={4}>{content}</td>
      </tr>
    </tbody>
  );
  if (result.error) return status(<ErrorNotice error={result.error} />);
  if (!log) return result.fetching ? status(<Loading />) : null;
  if (!after && log.edges.length === 0) return status(<Empty>No changes recorded.</Empty>);
  return (
    <tbody>
      {log.edges.map(({ node }) => (
        <tr key={node.id} data-testid="audit-entry">
          <td className="nowrap">
            <Time value={node.at} />
          </td>
          <td>{node.actor ?? <span className="muted">Hookline</span>}</td>
          <td className="mono small nowrap">{node.action}</td>
          <td>
            <Changes entry={node} />
          </td>
        </tr>
      ))}
      {onMore && log.pageInfo.hasNextPage && log.pageInfo.endCursor && (
        <tr>
          <td colSpan={4}>
            <button type="button" className="link" onClick={() => onMore(log.pageInfo.endCursor!)}>
              Older entries
            </button>
          </td>
        </tr>
      )}
    </tbody>
  );
}

type Fields = Record<string, unknown>;
const asFields = (value: unknown): Fields | null =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Fields) : null;

/** A value in one short line: long ones are cut (the whole entry is in the API). */
function short(value: unknown): string {
  const text = value === undefined ? '—' : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/**
 * An update as "field: old → new" per changed field; a small record (a bulk replay's count and filter) as its
 * fields; a created or deleted object folded, with the whole object inside.
 */
function Changes({ entry }: { entry: Entry }) {
  const before = asFields(entry.before);
  const after = asFields(entry.after);
  if (before && after) {
    const fields = Object.keys(after);
    if (fields.length === 0) return <span className="muted">no change</span>;
    return (
      <ul className="changes small">
        {fields.map((field) => (
          <li key={field}>
            <span className="mono">{field}</span>: <span className="mono muted">{short(before[field])}</span> →{' '}
            <span className="mono">{short(after[field])}</span>
          </li>
        ))}
      </ul>
    );
  }
  const object = after ?? before ?? {};
  if (Object.keys(object).length <= 3) {
    return (
      <ul className="changes small">
        {Object.entries(object).map(([field, value]) => (
          <li key={field}>
            <span className="mono">{field}</span>: <span className="mono">{short(value)}</span>
          </li>
        ))}
      </ul>
    );
  }
  return (
    <details className="small">
      <summary>
        {after ? 'new' : 'deleted'} {entry.targetType.toLowerCase()} <span className="mono">{entry.targetId}</span>
      </summary>
      <Json value={object} />
    </details>
  );
}
