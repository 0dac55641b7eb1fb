/** An event as templates see it. */
export interface SampleEvent {
  id: string;
  type: string;
  occurredAt: string;
  context: unknown;
  data: unknown;
}

export const BUILT_IN_SAMPLE: SampleEvent = {
  id: 'evt_sample',
  type: 'contact.created',
  occurredAt: new Date().toISOString(),
  context: { login: 'alice' },
  data: { id: 'c_1042', name: 'Ada Lovelace', email: 'ada@example.com', customer: { country: 'SE' } },
};
