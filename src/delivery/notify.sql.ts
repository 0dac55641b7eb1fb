import type { DeliveryStatus } from '../../schema/db/enums.js';
import type { TransactionSql } from 'postgres';

/** NOTIFYed by workers on every delivery status change, so any api process can push `deliveryUpdated`. */
export const DELIVERY_UPDATED_CHANNEL = 'hookline_delivery_updated';

/** The JSON payload on DELIVERY_UPDATED_CHANNEL. */
export interface DeliveryUpdatedPayload {
  deliveries: { id: string; status: DeliveryStatus }[];
}

/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more: 100 entries of ~60 bytes stay well below. */
export const PER_NOTIFICATION = 100;

/**
 * Announces status changes, inside the transaction that makes them (listeners hear them only once it commits).
 * One statement; large batches are split over several notifications.
 */
export async function notifyDeliveryUpdated(
  sql: TransactionSql,
  deliveries: DeliveryUpdatedPayload['deliveries'],
): Promise<void> {
  if (deliveries.length === 0) return;
  const payloads: string[] = [];
  for (let i = 0; i < deliveries.length; i += PER_NOTIFICATION) {
    const payload: DeliveryUpdatedPayload = { deliveries: deliveries.slice(i, i + PER_NOTIFICATION) };
    payloads.push(JSON.stringify(payload));
  }
  await sql`select pg_notify(${DELIVERY_UPDATED_CHANNEL}, payload) from unnest(${payloads}::text[]) as payload`;
}
