import { createContext, useContext, useEffect, useState, useSyncExternalStore, type FormEvent, type ReactNode } from 'react';
import { Provider } from 'urql';
import { connect, probeClient, type Connection } from './client.js';
import { describe } from './errors.js';
import { graphql, type ResultOf } from './graphql.js';

const STORAGE_KEY = 'hookline.token';

const ViewerQuery = graphql(`
  query Viewer {
    viewer { name role tokenId team { id name } }
  }
`);

export type Viewer = ResultOf<typeof ViewerQuery>['viewer'];

interface Session {
  viewer: Viewer;
  connection: Connection;
  signOut(): void;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in session');
  return session;
}

/** Whether the live connection (subscriptions) is up. */
export function useLive(): boolean {
  const { connection } = useSession();
  return useSyncExternalStore(connection.onLiveChange, connection.live);
}

/**
 * Signs in with an API token, checked by asking the API who it belongs to. The token is kept in sessionStorage:
 * it survives a reload but not the closing of the tab.
 */
export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(null);
  const [checking, setChecking] = useState(() => Boolean(sessionStorage.getItem(STORAGE_KEY)));
  const [problem, setProblem] = useState<string>();

  const signOut = (connection: Connection, why?: string) => {
    sessionStorage.removeItem(STORAGE_KEY);
    connection.close();
    setSession(null);
    setProblem(why);
  };

  const signIn = async (token: string) => {
    const result = await probeClient(token).query(ViewerQuery, {}, { requestPolicy: 'network-only' }).toPromise();
    setChecking(false);
    if (!result.data) {
      sessionStorage.removeItem(STORAGE_KEY);
      const unauthenticated = result.error?.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED');
      setProblem(unauthenticated ? 'That token is not valid (or has been revoked).' : result.error && describe(result.error));
      return;
    }
    sessionStorage.setItem(STORAGE_KEY, token);
    setProblem(undefined);
    const connection = connect(token, () => signOut(connection, 'Your token is no longer valid: sign in again.'));
    setSession({ viewer: result.data.viewer, connection, signOut: () => signOut(connection) });
  };

  useEffect(() => {
    const stored = sessionStorage.getItem(STORAGE_KEY);
    if (stored) void signIn(stored);
  }, []);

  if (checking) return null;
  if (!session) return <SignIn onSubmit={signIn} problem={problem} />;
  return (
    <SessionContext.Provider value={session}>
      <Provider value={session.connection.client}>{children}</Provider>
    </SessionContext.Provider>
  );
}

function SignIn({ onSubmit, problem }: { onSubmit(token: string): Promise<void>; problem?: string }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    await onSubmit(token.trim());
    setBusy(false);
  };
  return (
    <main className="sign-in">
      <form onSubmit={submit} className="card">
        <div className="brand large">
          <img src="/favicon.svg" alt="" width={32} height={32} /> Hookline
        </div>
        <p className="subtitle">Sign in with an API token. The admin token is printed when Hookline first starts and kept in <code>.hookline/admin-token</code>.</p>
        <label htmlFor="token">API token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          autoFocus
          placeholder="hl_…"
          value={token}
          onChange={(e) => setToken(e.target.value)}
        />
        {problem && (
          <p className="field-error" role="alert">
            {problem}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy || !token.trim()}>
          Sign in
        </button>
      </form>
    </main>
  );
}
