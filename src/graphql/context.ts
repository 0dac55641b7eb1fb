import type { Logger } from 'pino';
import type { Role } from '../../schema/db/enums.js';
import type { Config } from '../config.js';
import type { Db, Sql } from '../db/client.js';
import type { Sender } from '../delivery/send.js';
import type { Mailer } from '../mail/mailer.js';
import type { TargetPolicy } from '../security/targets.js';

/** Who is asking: the API token of the request (or of the graphql-ws connection). */
export interface Viewer {
  tokenId: string;
  name: string;
  role: Role;
  /** null for ADMIN tokens, which belong to no team. */
  teamId: string | null;
}

/** What resolvers may use; built once per process in app.ts. */
export interface Services {
  config: Config;
  db: Db;
  sql: Sql;
  logger: Logger;
  targets: TargetPolicy;
  /** Sends one delivery attempt (signed, target-checked); the worker and testEndpoint share it. */
  sender: Sender;
  mailer: Mailer;
  /** Resolves "Bearer <token>" to its viewer, or null. */
  authenticate(authorization: string | undefined | null): Promise<Viewer | null>;
}

export interface Context {
  viewer: Viewer | null;
  services: Services;
  /** Whether the request's token is still valid (not revoked): long-lived subscriptions ask again as they go. */
  stillAuthenticated(): Promise<boolean>;
}

/** The one context factory, for GraphQL over HTTP and over graphql-ws alike. */
export async function createContext(services: Services, authorization: string | null | undefined): Promise<Context> {
  const viewer = await services.authenticate(authorization);
  return {
    viewer,
    services,
    stillAuthenticated: async () => viewer !== null && (await services.authenticate(authorization))?.tokenId === viewer.tokenId,
  };
}
