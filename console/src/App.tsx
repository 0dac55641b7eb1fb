import { useEffect } from 'react';
import { DeliveriesPage } from './pages/Deliveries.js';
import { DeliveryPage } from './pages/Delivery.js';
import { EventPage } from './pages/Event.js';
import { EventTypesPage } from './pages/EventTypes.js';
import { WebhookPage } from './pages/Webhook.js';
import { WebhooksPage } from './pages/Webhooks.js';
import { WizardPage } from './pages/Wizard.js';
import { Link, navigate, useLocation } from './router.js';
import { useLive, useSession } from './session.js';
import { Page } from './ui.js';

const NAV = [
  { to: '/webhooks', label: 'Webhooks' },
  { to: '/deliveries', label: 'Deliveries' },
  { to: '/event-types', label: 'Event types' },
];

export function App() {
  const { path } = useLocation();
  useEffect(() => {
    if (path === '/') navigate('/webhooks', { replace: true });
  }, [path]);
  return (
    <div className="shell">
      <Sidebar path={path} />
      <Route path={path} />
    </div>
  );
}

function Route({ path }: { path: string }) {
  const [, section, id] = path.split('/').map(decodeURIComponent);
  if (section === 'webhooks' && id === 'new') return <WizardPage />;
  if (section === 'webhooks' && id) return <WebhookPage id={id} key={id} />;
  if (section === 'webhooks') return <WebhooksPage />;
  if (section === 'deliveries' && id) return <DeliveryPage id={id} key={id} />;
  if (section === 'deliveries') return <DeliveriesPage />;
  if (section === 'events' && id) return <EventPage id={id} key={id} />;
  if (section === 'event-types') return <EventTypesPage />;
  if (path === '/') return null;
  return (
    <Page title="Not found">
      <p>
        There is no page at <code>{path}</code>. <Link to="/webhooks">Go to the webhooks</Link>.
      </p>
    </Page>
  );
}

function Sidebar({ path }: { path: string }) {
  const { viewer, signOut } = useSession();
  const live = useLive();
  return (
    <aside className="sidebar">
      <Link to="/webhooks" className="brand">
        <img src="/favicon.svg" alt="" width={24} height={24} /> Hookline
      </Link>
      <nav>
        {NAV.map((item) => (
          <Link key={item.to} to={item.to} className={path.startsWith(item.to) ? 'active' : undefined}>
            {item.label}
          </Link>
        ))}
      </nav>
      <div className="sidebar-footer">
        <p className={`live-indicator${live ? ' on' : ''}`} title="Live updates over graphql-ws">
          <span className="dot" /> {live ? 'Live' : 'Not live'}
        </p>
        <p className="viewer">
          <strong>{viewer.name}</strong>
          <span>
            {viewer.role.toLowerCase()}
            {viewer.team ? ` · ${viewer.team.name}` : ''}
          </span>
        </p>
        <button type="button" className="link" onClick={signOut}>
          Sign out
        </button>
      </div>
    </aside>
  );
}
