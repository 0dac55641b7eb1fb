import type { Server } from 'node:http';
import type { ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Duplex } from 'node:stream';
import { AppError } from '../errors.js';
import type { Services } from './context.js';
import type { Yoga } from './yoga.js';

type EnvelopedRoot = { execute(args: ExecutionArgs): unknown; subscribe(args: ExecutionArgs): unknown };

/** Close code for a token over HOOKLINE_MAX_CONNECTIONS_PER_TOKEN (4xxx: the application's; 429: too many). */
const TOO_MANY_CONNECTIONS = 4429;

/**
 * graphql-ws on the same port and path as GraphQL over HTTP. Each operation goes through yoga's envelop, so the
 * same context factory (token from connectionParams.authorization), plugins and limits apply as over HTTP.
 * A message may be as large as an HTTP body (HOOKLINE_MAX_BODY_BYTES; larger: closed with 1009). A connection
 * runs at most HOOKLINE_MAX_SUBSCRIPTIONS_PER_CONNECTION operations at once; a token holds at most
 * HOOKLINE_MAX_CONNECTIONS_PER_TOKEN connections to this process (one more is closed with 4429), and so does each
 * client address for its connections without a valid token.
 */
export function attachGraphqlWs(
  server: Server,
  yoga: Yoga,
  services: Pick<Services, 'config' | 'authenticate' | 'logger'>,
) {
  const { config } = services;
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.HOOKLINE_MAX_BODY_BYTES });
  const connectionsPerToken = new Map<string, number>();
  server.on('upgrade', (request, socket, head) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path !== yoga.graphqlEndpoint) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      coalesceSends(ws, socket);
      wss.emit('connection', ws, request);
      // graphql-ws console.errors every socket error as an internal fault. ws emits them only for a client's
      // protocol faults (a message over maxPayload, a bad frame), which it answers itself by closing (1009, 1002):
      // not worth a stack trace on stderr per bad client, so they are logged quietly instead.
      ws.removeAllListeners('error');
      ws.on('error', (err) => services.logger.debug({ err: String(err) }, 'graphql-ws: client protocol error'));
    });
  });
  const disposable = useServer(
    {
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args) as never,
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args) as never,
      onConnect: async (ctx) => {
        // A connection without a valid token is let in (each of its operations is refused with the reason).
        const viewer = await services.authenticate(String(ctx.connectionParams?.authorization ?? ''));
        const socket = ctx.extra.socket;
        // Closed while the token was looked up: counting it now would never be undone by a 'close' event.
        if (socket.readyState !== socket.OPEN) return false;
        // Connections without a valid token count per client address instead: they run nothing, but each holds
        // a socket, so they must not be free to pile up.
        const key = viewer ? viewer.tokenId : `anonymous:${ctx.extra.request.socket.remoteAddress}`;
        const open = connectionsPerToken.get(key) ?? 0;
        if (open >= config.HOOKLINE_MAX_CONNECTIONS_PER_TOKEN) {
          socket.close(
            TOO_MANY_CONNECTIONS,
            `too many connections ${viewer ? 'for this token' : 'without a valid token from this address'}: ` +
              `at most ${config.HOOKLINE_MAX_CONNECTIONS_PER_TOKEN} (HOOKLINE_MAX_CONNECTIONS_PER_TOKEN)`,
          );
          return false; // graphql-ws's own close (4403) is then a no-op: the socket is already closing
        }
        connectionsPerToken.set(key, open + 1);
        socket.once('close', () => {
          const left = connectionsPerToken.get(key)! - 1;
          if (left > 0) connectionsPerToken.set(key, left);
          else connectionsPerToken.delete(key);
        });
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        // graphql-ws registers the operation synchronously before this hook, so the count includes it and
        // operations still starting: subscribes sent together cannot slip past the cap.
        const running = Object.keys(ctx.subscriptions).length;
        if (running > config.HOOKLINE_MAX_SUBSCRIPTIONS_PER_CONNECTION) {
          return [
            new AppError(
              'RATE_LIMITED',
              `too many operations on this connection: at most ${config.HOOKLINE_MAX_SUBSCRIPTIONS_PER_CONNECTION} ` +
                'at once (HOOKLINE_MAX_SUBSCRIPTIONS_PER_CONNECTION); complete one or open another connection',
            ),
          ];
        }
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
          connectionParams: ctx.connectionParams ?? {},
        });
        const args = {
          schema,
          operationName: payload.operationName,
          document: parse(payload.query),
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) return errors;
        return args;
      },
    },
    wss,
  );
  return {
    async close() {
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** Unsent bytes a connection may hold before a send waits for its write again (backpressure, see coalesceSends). */
const SEND_BUFFER_BYTES = 1024 * 1024;

/**
 * graphql-ws awaits each message's write before it sends the next, so every message of every subscriber was one
 * write system call (the largest item of the api's profile under 200 subscribers). Here the socket is corked for
 * the rest of the tick at the first send, and a send reports done at once while less than SEND_BUFFER_BYTES wait:
 * the messages a subscription has ready then leave in one write. A slow client still holds graphql-ws back (its
 * sends wait once the buffer is full), and a failed write closes the socket, which ends its subscriptions.
 */
function coalesceSends(ws: WebSocket, socket: Duplex): void {
  const send = ws.send.bind(ws) as (data: string, cb?: (err?: Error) => void) => void;
  let corked = false;
  (ws as unknown as { send: typeof send }).send = (data, cb) => {
    if (!corked) {
      corked = true;
      socket.cork();
      setImmediate(() => {
        corked = false;
        socket.uncork();
      });
    }
    if (!cb || ws.bufferedAmount >= SEND_BUFFER_BYTES) return send(data, cb);
    send(data);
    cb();
  };
}
