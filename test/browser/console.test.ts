import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../../src/ids.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { eventually, startReceiver, type Receiver } from '../helpers/receiver.js';
import { createWebhook } from '../helpers/webhook-fixtures.js';
import { ensureConsoleBuilt, launchChromium, openPage, screenshot } from './browser.js';

/** HOOKLINE_DOC_SCREENSHOTS=1 also writes the README's screenshots (docs/screenshots/). */
const DOCS = process.env.HOOKLINE_DOC_SCREENSHOTS === '1';

let t: TestApp;
let receiver: Receiver;
let browser: Browser;
let page: Page;
let problems: string[];
/** Whether the receiver's /fail path answers 500 (else 200). */
let failing = true;

beforeAll(async () => {
  [t, receiver, browser] = await Promise.all([
    ensureConsoleBuilt().then(() => startTestApp({ HOOKLINE_RETRY_SCHEDULE: '0ms' })),
    // /slow answers after a while (so a delivery is seen changing), /fail with a 500 while `failing`.
    startReceiver((request) =>
      request.url.startsWith('/slow')
        ? { delayMs: 700, body: 'took a while' }
        : request.url.startsWith('/fail') && failing
          ? { status: 500, body: '{"error": "database is down"}', headers: { 'content-type': 'application/json' } }
          : { body: 'ok' },
    ),
    launchChromium(),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await Promise.all([t?.stop(), receiver?.close()]);
});

beforeEach(async () => {
  ({ page, problems } = await openPage(browser));
});
afterEach(async (context) => {
  await screenshot(page, `console-${context.task.name.replace(/\W+/g, '-').toLowerCase()}`);
  await page.context().close();
  expect(problems).toEqual([]);
});

const PUBLISH = `mutation ($input: PublishEventInput!) { publishEvent(input: $input) { deliveries { id } } }`;

async function publish(type: string, data: Record<string, unknown> = {}): Promise<string[]> {
  const { publishEvent } = await t.gql.ok(PUBLISH, { input: { type, data } });
  return publishEvent.deliveries.map((d: { id: string }) => d.id);
}

async function deliveryStatus(id: string): Promise<string> {
  const { node } = await t.gql.ok('query ($id: ID!) { node(id: $id) { ... on Delivery { status } } }', { id });
  return node.status;
}

async function signIn() {
  await page.goto(t.url);
  await page.getByLabel('API token').fill(t.adminToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
}

describe('serving the console', () => {
  it('answers client-side routes with the app, 404s a missing asset and has a favicon', async () => {
    for (const path of ['/', '/deliveries', '/webhooks/wh_anything']) {
      const response = await fetch(`${t.url}${path}`);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('<div id="root"></div>');
    }
    const html = await (await fetch(t.url)).text();
    const script = html.match(/src="(\/assets\/[^"]+\.js)"/)![1];
    const asset = await fetch(`${t.url}${script}`);
    expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${t.url}/assets/index-gone.js`)).status).toBe(404);
    const icon = await fetch(`${t.url}/favicon.ico`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');

    // Signed out, any page asks for a token.
    await page.goto(`${t.url}/deliveries`);
    await page.getByLabel('API token').waitFor();
  });
});

describe('console', () => {
  it('refuses a wrong token, signs in with a good one and keeps it across a reload', async () => {
    await page.goto(t.url);
    await page.getByLabel('API token').fill('hl_not_a_real_token_at_all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('That token is not valid');
    // The browser logs the refused request (401) itself; that one is expected.
    problems.splice(0, problems.length, ...problems.filter((p) => !p.includes('401')));

    await signIn();
    await page.reload();
    await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
    for (const name of ['Deliveries', 'Event types', 'Webhooks']) {
      await page.getByRole('link', { name, exact: true }).click();
      await page.getByRole('heading', { name, exact: true }).waitFor();
    }
  });

  it('creates a webhook through the wizard with two endpoints and two triggers, errors shown at the field', async () => {
    await signIn();
    await page.getByRole('link', { name: 'Add webhook' }).click();
    // Step 1: the webhook itself.
    await page.getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => page.getByLabel('Name').evaluate((el) => el.closest('.field')?.textContent)).toContain('a name is required');
    await page.getByLabel('Name').fill('CRM sync');
    await page.getByLabel('Description').fill('Contacts and orders to the CRM');
    await page.getByLabel('For login').fill('alice');
    await page.getByRole('button', { name: 'Next' }).click();

    // Step 2: two endpoints; the first with a query string, a header and a body template previewed live.
    const first = page.getByRole('group', { name: 'Endpoint 1' });
    await first.getByLabel('URL').fill(`${receiver.url}/crm`);
    await first.getByRole('button', { name: '+ Add parameter' }).click();
    await first.getByLabel('Query string 1 parameter').fill('source');
    await first.getByLabel('Query string 1 value').fill('hookline');
    await first.getByRole('button', { name: '+ Add header' }).click();
    await first.getByLabel('Headers 1 name').fill('x-team');
    await first.getByLabel('Headers 1 value').fill('crm');
    await first.getByLabel('Body template').fill('{"kind": "{{ event.type }}", "who": "{{ event.context.login }}", "hook": "{{ webhook.name }}"}');
    await expect.poll(() => first.getByTestId('template-preview').textContent()).toBe('{"kind": "contact.created", "who": "alice", "hook": "CRM sync"}');
    await screenshot(page, 'console-wizard-endpoints', { fullPage: false, alsoTo: DOCS ? 'docs/screenshots/wizard.png' : undefined });
    await first.getByLabel('Kind', { exact: true }).first().selectOption('HTTP');
    await page.getByRole('button', { name: '+ Add another endpoint' }).click();
    const second = page.getByRole('group', { name: 'Endpoint 2' });
    // Not an http(s) URL: refused by the server, and the wizard comes back here to say so at the field.
    await second.getByLabel('URL').fill('ftp://127.0.0.1/orders');
    await second.getByLabel('Method').selectOption('PUT');
    await page.getByRole('button', { name: 'Next' }).click();

    // Step 3: two triggers, one chosen by typing, one with a filter.
    const trigger1 = page.getByRole('group', { name: 'Trigger 1' });
    await trigger1.getByLabel('Resource').fill('contact');
    await trigger1.getByLabel('Event').fill('created');
    await page.getByRole('button', { name: '+ Add another trigger' }).click();
    const trigger2 = page.getByRole('group', { name: 'Trigger 2' });
    await trigger2.getByLabel('Resource').fill('order');
    await trigger2.getByLabel('Event').fill('*');
    await trigger2.getByLabel('Filter').fill('{"customer.country": "SE"}');
    await page.getByRole('button', { name: 'Add webhook' }).click();

    const urlError = page.getByRole('group', { name: 'Endpoint 2' }).getByRole('alert');
    await expect.poll(() => urlError.textContent()).toContain('must be an http or https URL');
    await second.getByLabel('URL').fill(`${receiver.url}/orders`);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Add webhook' }).click();

    // The details page, with the signing secret shown this once.
    await page.getByTestId('secret').waitFor();
    expect(await page.getByTestId('secret').textContent()).toMatch(/^whsec_/);
    const id = page.url().split('/').pop();
    const { node } = await t.gql.ok(
      `query ($id: ID!) { node(id: $id) { ... on Webhook { name forLogin
        endpoints { url method queryParams { key value } headers { key value } bodyTemplate }
        triggers { eventType filter } } } }`,
      { id },
    );
    expect(node.name).toBe('CRM sync');
    expect(node.forLogin).toBe('alice');
    expect(node.endpoints).toEqual([
      expect.objectContaining({ url: `${receiver.url}/crm`, method: 'POST', queryParams: [{ key: 'source', value: 'hookline' }], headers: [{ key: 'x-team', value: 'crm' }] }),
      expect.objectContaining({ url: `${receiver.url}/orders`, method: 'PUT' }),
    ]);
    expect(node.triggers).toEqual([
      { eventType: 'contact.created', filter: null },
      { eventType: 'order.*', filter: { 'customer.country': 'SE' } },
    ]);
  });

  it('shows a published event’s delivery arriving and reaching SUCCEEDED on the Deliveries page without reloading', async () => {
    await createWebhook(t.gql, {
      name: 'Invoices',
      endpoints: [{ url: `${receiver.url}/slow/invoices` }],
      triggers: [{ resource: 'invoice', event: 'paid' }],
    });
    await signIn();
    await page.getByRole('link', { name: 'Deliveries', exact: true }).click();
    await page.getByText('No deliveries yet').waitFor();
    await page.locator('.live-indicator.on').waitFor();
    await page.evaluate(() => Object.assign(window, { sameDocument: true }));

    const [id] = await publish('invoice.paid', { amount: 42 });
    const row = page.locator(`tr[data-id="${id}"]`);
    await row.waitFor();
    await page.locator(`tr[data-id="${id}"][data-status="SUCCEEDED"]`).waitFor();
    expect(await row.textContent()).toContain('invoice.paid');
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);

    // The webhook's success rate on the list comes from the same live numbers.
    await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
    await expect.poll(() => page.getByRole('row', { name: /Invoices/ }).textContent()).toContain('100%');
  });

  it('opens a failed delivery with every attempt and replays it', async () => {
    await createWebhook(t.gql, {
      name: 'Flaky receiver',
      endpoints: [{ url: `${receiver.url}/fail/flaky` }],
      triggers: [{ resource: 'invoice', event: 'voided' }],
    });
    failing = true;
    const [id] = await publish('invoice.voided', { invoice: 'inv_7' });
    await eventually(async () => (await deliveryStatus(id)) === 'FAILED');

    await signIn();
    await page.getByRole('link', { name: 'Deliveries', exact: true }).click();
    await page.getByLabel('Status').selectOption('FAILED');
    await page.locator(`tr[data-id="${id}"]`).click();
    await page.getByRole('heading', { name: /Attempts \(2\)/ }).waitFor();
    const attempts = page.getByTestId('attempt');
    expect(await attempts.count()).toBe(2);
    const latest = await attempts.first().textContent();
    expect(latest).toContain('HTTP 500');
    expect(latest).toContain('database is down');
    expect(latest).toContain(`${receiver.url}/fail/flaky`);
    expect(latest).toContain('webhook-signature');

    failing = false;
    await page.getByRole('button', { name: 'Replay' }).click();
    await page.waitForURL((url) => !url.pathname.endsWith(id));
    await page.getByRole('link', { name: id }).waitFor();
    // The new delivery's page follows it live to its end.
    await page.locator('h1 .badge[data-value="SUCCEEDED"]').waitFor();
  });

  it('replays the failed deliveries of a webhook after showing the dry-run count', async () => {
    const { webhook } = await createWebhook(t.gql, {
      name: 'Nightly export',
      endpoints: [{ url: `${receiver.url}/fail/export` }],
      triggers: [{ resource: 'export', event: 'finished' }],
    });
    failing = true;
    const ids = [...(await publish('export.finished', { n: 1 })), ...(await publish('export.finished', { n: 2 }))];
    await eventually(async () => (await Promise.all(ids.map(deliveryStatus))).every((s) => s === 'FAILED'));

    await signIn();
    await page.getByRole('link', { name: 'Deliveries', exact: true }).click();
    await page.getByRole('button', { name: 'Replay failed…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Webhook').selectOption({ label: 'Nightly export' });
    await expect.poll(() => dialog.getByRole('status').textContent()).toBe('2 failed deliveries will be sent again.');
    await dialog.getByRole('button', { name: 'Replay 2 deliveries' }).click();
    await expect.poll(() => dialog.getByRole('status').textContent()).toContain('2 deliveries queued');
    await dialog.getByRole('button', { name: 'Done' }).click();

    const { deliveries } = await t.gql.ok('query ($id: ID) { deliveries(webhookId: $id) { edges { node { replayOf { id } } } } }', {
      id: webhook.id,
    });
    expect(deliveries.edges.map((e: any) => e.node.replayOf?.id).filter(Boolean).sort()).toEqual([...ids].sort());
  });

  it('tests an endpoint, stops it and rotates the secret on the webhook page', async () => {
    const { webhook } = await createWebhook(t.gql, {
      name: 'Support desk',
      endpoints: [{ url: `${receiver.url}/support` }],
      triggers: [{ resource: 'ticket', event: '*' }],
    });
    await signIn();
    await page.getByRole('link', { name: 'Support desk' }).click();
    const endpoint = page.getByTestId('endpoint');
    const before = receiver.requests.length;
    await endpoint.getByRole('button', { name: 'Test' }).click();
    await expect.poll(() => endpoint.getByTestId('attempt').textContent()).toContain('HTTP 200');
    expect(receiver.requests.slice(before).some((r) => r.url === '/support' && r.body.includes('hookline.ping'))).toBe(true);

    await endpoint.getByRole('button', { name: 'Stop' }).click();
    await endpoint.locator('.badge[data-value="STOPPED"]').waitFor();
    await endpoint.getByRole('button', { name: 'Start' }).click();
    await endpoint.locator('.badge[data-value="ACTIVE"]').waitFor();

    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Rotate' }).click();
    expect(await page.getByTestId('secret').textContent()).toMatch(/^whsec_/);
    const { node } = await t.gql.ok('query ($id: ID!) { node(id: $id) { ... on Webhook { previousSecretExpiresAt endpoints { state } } } }', {
      id: webhook.id,
    });
    expect(node.previousSecretExpiresAt).not.toBeNull();
    expect(node.endpoints[0].state).toBe('ACTIVE');
  });

  it("shows a webhook's audit log: who made which change, updated live after a change on the page", async () => {
    const { webhook } = await createWebhook(t.gql, { name: 'Audited ledger', endpoints: [{ url: `${receiver.url}/ledger` }] });
    await t.gql.ok('mutation ($id: ID!) { updateWebhook(input: { id: $id, description: "Orders to the ledger" }) { webhook { id } } }', {
      id: webhook.id,
    });
    await signIn();
    await page.getByRole('link', { name: 'Audited ledger' }).click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    const entries = page.getByTestId('audit-entry');
    await expect.poll(() => entries.count()).toBe(2);
    const update = await entries.nth(0).textContent();
    expect(update).toContain('webhook.update');
    expect(update).toContain('admin');
    expect(update).toMatch(/description: null\s*→\s*"Orders to the ledger"/);
    expect(await entries.nth(0).locator('time').count()).toBe(1);
    expect(await entries.nth(1).textContent()).toContain('webhook.create');

    // Stopped and started from the page: both changes appear, newest first, without a reload.
    const header = page.locator('.page-header');
    await header.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(() => entries.nth(0).textContent()).toMatch(/webhook\.state.*state: "ACTIVE"\s*→\s*"STOPPED"/);
    await header.getByRole('button', { name: 'Start' }).click();
    await expect.poll(() => entries.nth(0).textContent()).toMatch(/webhook\.state.*state: "STOPPED"\s*→\s*"ACTIVE"/);
    expect(await entries.count()).toBe(4);
  });

  it('lists the event-type catalogue with counts and sends a test event by hand', async () => {
    await signIn();
    await page.getByRole('link', { name: 'Event types', exact: true }).click();
    await page.getByLabel('Type').fill('ticket.opened');
    await page.getByLabel('Data').fill('{"subject": "Printer on fire"}');
    await page.getByRole('button', { name: 'Publish' }).click();
    // "Support desk" (ticket.*) matches it.
    await expect.poll(() => page.getByRole('status').textContent()).toMatch(/Published ticket\.opened as evt_\w+: 1 delivery\./);
    await expect.poll(() => page.getByRole('row', { name: /ticket\.opened/ }).textContent()).toContain('1');
    const { eventTypes } = await t.gql.ok('{ eventTypes { name count } }');
    expect(eventTypes).toContainEqual({ name: 'ticket.opened', count: 1 });
  });

  it('explains on the event page why an event did or didn’t match a webhook', async () => {
    await createWebhook(t.gql, {
      name: 'Swedish shipments',
      endpoints: [{ url: `${receiver.url}/shipments/se` }],
      triggers: [{ resource: 'shipment', event: 'created', filter: { country: 'SE' } }],
    });
    await createWebhook(t.gql, {
      name: 'Norwegian shipments',
      endpoints: [{ url: `${receiver.url}/shipments/no` }],
      triggers: [{ resource: 'shipment', event: 'created', filter: { country: 'NO' } }],
    });
    const [deliveryId] = await publish('shipment.created', { country: 'SE', parcels: 2 });

    await signIn();
    await page.goto(`${t.url}/deliveries/${deliveryId}`);
    await page.getByRole('link', { name: /shipment\.created/ }).click();
    await page.getByRole('heading', { name: "Why did / didn't it match?" }).waitFor();
    expect(await page.locator('tr[data-id]').count()).toBe(1);

    await page.getByLabel('Webhook', { exact: true }).selectOption({ label: 'Norwegian shipments' });
    const explanation = page.getByTestId('match-explanation');
    await expect.poll(() => explanation.getByRole('status').textContent()).toBe("No match: none of the webhook's triggers matches the event.");
    const filter = explanation.locator('tr[data-rule="filter"][data-path="country"]');
    expect(await filter.textContent()).toMatch(/"NO".*"SE".*✗/);
    expect(await explanation.locator('tr[data-rule="resource"]').textContent()).toContain('✓');

    await page.getByLabel('Webhook', { exact: true }).selectOption({ label: 'Swedish shipments' });
    await expect.poll(() => explanation.getByRole('status').textContent()).toBe('Matches: 1 ACTIVE endpoint would get a delivery.');
    expect(await explanation.locator('tr[data-rule="filter"]').textContent()).toMatch(/"SE".*"SE".*✓/);
  });

  it('makes a pull-feed URL on the webhook page, shown once, and revokes it', async () => {
    const { webhook } = await createWebhook(t.gql, { name: 'Pulled by a partner', triggers: [{ resource: 'partner', event: '*' }] });
    await signIn();
    await page.goto(`${t.url}/webhooks/${webhook.id}`);
    await page.getByRole('button', { name: 'New feed URL' }).click();
    const url = (await page.getByTestId('feed-url').textContent())!;
    expect(url).toMatch(/\/feed\/hlf_[\w-]+$/);
    const feed = await fetch(`${t.url}${new URL(url).pathname}`);
    expect(feed.status).toBe(200);
    expect(await feed.json()).toMatchObject({ items: [], hasMore: false });

    const row = page.locator('tr', { hasText: 'active' });
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.locator('tr', { hasText: 'revoked' }).waitFor();
    expect((await fetch(`${t.url}${new URL(url).pathname}`)).status).toBe(401);
  });

  it('sends an endpoint the event history its triggers match now, with the job’s progress shown live', async () => {
    // Published before any webhook wanted them: they matched nothing.
    const { publishEvents } = await t.gql.ok(
      `mutation ($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { results { event { id } } } }`,
      { inputs: [1, 2, 3].map((n) => ({ type: 'archive.item', data: { n } })).concat([{ type: 'archive.other', data: { n: 4 } }]) },
    );
    const ids = publishEvents.results.slice(0, 3).map((r: { event: { id: string } }) => r.event.id);
    const { webhook } = await createWebhook(t.gql, {
      name: 'Late archive',
      endpoints: [{ url: `${receiver.url}/archive` }],
      triggers: [{ resource: 'archive', event: 'item' }],
    });
    await signIn();
    await page.goto(`${t.url}/webhooks/${webhook.id}`);
    await page.getByTestId('endpoint').getByRole('button', { name: 'Send event history…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Event types').fill('archive');
    await dialog.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => dialog.locator('.field.invalid').textContent()).toContain('must be <resource>.<event>');

    await dialog.getByLabel('Event types').fill('archive.item, archive.other');
    await dialog.getByRole('button', { name: 'Send' }).click();
    await dialog.locator('[data-testid="replay-job"][data-status="SUCCEEDED"]').waitFor();
    expect(await dialog.getByTestId('replay-job-created').textContent()).toBe('3');
    expect(await dialog.getByTestId('replay-job').textContent()).toContain('1 not matched by the triggers now');
    const arrived = await eventually(async () => {
      const got = receiver.requests.filter((r) => r.url === '/archive');
      return got.length === 3 && got;
    });
    expect(arrived.map((r) => r.headers['webhook-id']).sort()).toEqual([...ids].sort());
  });

  it('deletes a webhook through the confirm dialog', async () => {
    const { webhook } = await createWebhook(t.gql, { name: 'Short-lived' });
    await signIn();
    const row = page.getByRole('row', { name: /Short-lived/ });
    await row.getByRole('button', { name: 'Delete Short-lived' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    expect(await row.count()).toBe(1);

    await row.getByRole('button', { name: 'Delete Short-lived' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    const { node } = await t.gql.ok('query ($id: ID!) { node(id: $id) { id } }', { id: webhook.id });
    expect(node).toBeNull();
  });

  it('says so on the page of a webhook, event or delivery that does not exist', async () => {
    await signIn();
    for (const [path, type] of [['webhooks', 'Webhook'], ['events', 'Event'], ['deliveries', 'Delivery']] as const) {
      await page.goto(`${t.url}/${path}/${newId(type)}`);
      await page.getByRole('heading', { name: type, exact: true }).waitFor();
      await page.getByText(`No ${type.toLowerCase()} with this id (or not one your token may see).`).waitFor();
    }
  });

  it('finds webhooks by search and by state', async () => {
    await signIn();
    const names = () => page.locator('tbody tr td:nth-child(2)').allTextContents();
    await page.getByLabel('Search webhooks').fill('flaky');
    await expect.poll(names).toEqual(['Flaky receiver']);
    await page.getByLabel('Search webhooks').fill('');
    await page.getByLabel('State').selectOption('STOPPED');
    await page.getByText('No webhook matches.').waitFor();
    await page.getByLabel('State').selectOption('ACTIVE');
    await expect.poll(async () => (await names()).length).toBeGreaterThan(3);
  });

  it('shows a team token only its team’s webhooks, and creates them for its team', async () => {
    const { createTeam } = await t.gql.ok('mutation { createTeam(name: "Payments") { id } }');
    const { createApiToken } = await t.gql.ok(
      'mutation ($teamId: ID!) { createApiToken(input: { name: "pay-editor", role: EDITOR, teamId: $teamId }) { token } }',
      { teamId: createTeam.id },
    );
    await createWebhook(t.gql, { name: 'Payouts', teamId: createTeam.id });
    await page.goto(t.url);
    await page.getByLabel('API token').fill(createApiToken.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('tbody tr td:nth-child(2)').allTextContents()).toEqual(['Payouts']);
    expect(await page.locator('.viewer').textContent()).toContain('editor · Payments');

    await page.getByRole('link', { name: 'Add webhook' }).click();
    expect(await page.getByLabel('Team').isDisabled()).toBe(true);
    await page.getByLabel('Name').fill('Refunds');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('URL').fill(`${receiver.url}/refunds`);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('Resource').fill('refund');
    await page.getByLabel('Event').fill('*');
    await page.getByRole('button', { name: 'Add webhook' }).click();
    await page.getByTestId('secret').waitFor();
    expect(await page.locator('.facts').first().textContent()).toContain('Payments');
  });

  it('shows the whole delivery history, newest first, with replays marked', async () => {
    await signIn();
    await page.getByRole('link', { name: 'Deliveries', exact: true }).click();
    await page.locator('tr[data-status]').first().waitFor();
    const statuses = await page.locator('tr[data-status]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')));
    expect(statuses).toContain('SUCCEEDED');
    expect(statuses).toContain('FAILED');
    expect(await page.locator('.tag', { hasText: 'replay' }).count()).toBeGreaterThan(0);
    await screenshot(page, 'console-deliveries', { fullPage: false, alsoTo: DOCS ? 'docs/screenshots/deliveries.png' : undefined });
  });
});
