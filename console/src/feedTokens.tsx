import { useState } from 'react';
import { useMutation, useQuery, type CombinedError } from 'urql';
import { graphql } from './graphql.js';
import { Empty, ErrorNotice, Section, ShownOnce, Time } from './ui.js';

const FeedTokens = graphql(`
  query FeedTokens($id: ID!) {
    node(id: $id) { ... on Webhook { id feedTokens { id createdAt createdBy lastUsedAt revokedAt } } }
  }
`);

const CreateFeedToken = graphql(`
  mutation CreateFeedToken($webhookId: ID!) {
    createFeedToken(webhookId: $webhookId) { url feedToken { id } }
  }
`);

const RevokeFeedToken = graphql(`
  mutation RevokeFeedToken($id: ID!) {
    revokeFeedToken(id: $id) { id revokedAt }
  }
`);

/** The webhook's pull-feed URLs: made here (the URL is shown once), listed, revoked. */
export function FeedTokensSection({ webhookId }: { webhookId: string }) {
  const [result, refetch] = useQuery({ query: FeedTokens, variables: { id: webhookId } });
  const tokens = result.data?.node && 'feedTokens' in result.data.node ? result.data.node.feedTokens : [];
  const [created, createFeedToken] = useMutation(CreateFeedToken);
  const [, revokeFeedToken] = useMutation(RevokeFeedToken);
  const [url, setUrl] = useState<string>();
  const [error, setError] = useState<CombinedError>();
  const create = async () => {
    const outcome = await createFeedToken({ webhookId });
    setError(outcome.error);
    setUrl(outcome.data?.createFeedToken.url);
    refetch({ requestPolicy: 'network-only' });
  };
  const revoke = async (id: string) => setError((await revokeFeedToken({ id })).error);
  return (
    <Section
      title="Pull feed"
      actions={
        <button type="button" onClick={create} disabled={created.fetching}>
          New feed URL
        </button>
      }
    >
      <p className="muted small">
        A site that cannot be called can fetch this webhook&rsquo;s events instead: <code>GET</code> the feed URL (JSON,
        oldest first, paged with <code>after</code>). Anyone with the URL can read the feed; revoke it to end that.
      </p>
      <ErrorNotice error={error} />
      {url && <ShownOnce title="Feed URL." value={url} testId="feed-url" />}
      {tokens.length === 0 ? (
        <Empty>No feed URL yet.</Empty>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Created</th>
              <th>By</th>
              <th>Last used</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {tokens.map((token) => (
              <tr key={token.id} data-id={token.id}>
                <td>
                  <Time value={token.createdAt} />
                </td>
                <td>{token.createdBy ?? '—'}</td>
                <td>
                  <Time value={token.lastUsedAt} />
                </td>
                <td>{token.revokedAt ? <>revoked <Time value={token.revokedAt} /></> : 'active'}</td>
                <td className="num">
                  {!token.revokedAt && (
                    <button type="button" onClick={() => revoke(token.id)}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}
