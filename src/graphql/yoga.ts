import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { GraphQLError, type ValidationContext } from 'graphql';
import { createYoga, isAsyncIterable, maskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { isDatabaseUnavailable } from '../db/client.js';
import { AppError } from '../errors.js';
import { rateLimiterFor, rateLimitPlugin } from '../security/rate-limit.js';
import { createContext, type Context, type Services } from './context.js';
import { schema } from './index.js';

export type Yoga = YogaServerInstance<Record<string, unknown>, Context>;

/** The refusal says where the token goes: over graphql-ws (see ws.ts) in connectionParams, else in the header. */
const unauthenticated = (context: object) =>
  new AppError(
    'UNAUTHENTICATED',
    'connectionParams' in context
      ? 'a valid API token is required (graphql-ws connectionParams: { authorization: "Bearer <token>" })'
      : 'a valid API token is required (Authorization: Bearer <token>)',
  );

/** Every operation needs a token, even `{ __typename }`: refused before anything runs. */
const requireToken: Plugin<Context> = {
  onExecute({ args, setResultAndStopExecution }) {
    if (!(args.contextValue as Context).viewer) setResultAndStopExecution({ errors: [unauthenticated(args.contextValue)] });
  },
  onSubscribe({ args, setResultAndStopExecution }) {
    if (!(args.contextValue as Context).viewer) setResultAndStopExecution({ errors: [unauthenticated(args.contextValue)] });
  },
};

/**
 * graphql-armor's refusals are plain errors titled "Syntax Error" with no code. Report them as the validation
 * failures they are, naming the setting that raises the limit; the operation is then not executed.
 */
function limit(setting?: string) {
  return {
    propagateOnRejection: false,
    onReject: [
      (ctx: ValidationContext | null, error: GraphQLError) =>
        ctx?.reportError(
          new GraphQLError(error.message.replace(/^Syntax Error: /, '') + (setting ? ` (${setting})` : ''), {
            extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
          }),
        ),
    ],
  };
}

/**
 * graphql-js reports a variable of the wrong type as a request error without a code; the contract calls it
 * BAD_USER_INPUT. Such results have no `data` at all.
 */
const codeVariableErrors: Plugin<Context> = {
  onExecute: () => ({
    onExecuteDone({ result, setResult }) {
      if (isAsyncIterable(result) || 'data' in result || !result.errors) return;
      setResult({
        ...result,
        errors: result.errors.map((error) =>
          error.extensions.code || !error.message.startsWith('Variable "$')
            ? error
            : new GraphQLError(error.message, {
                nodes: error.nodes,
                originalError: error.originalError,
                extensions: { ...error.extensions, code: 'BAD_USER_INPUT' },
              }),
        ),
      });
    },
  }),
};

/**
 * PostgreSQL refuses text holding a NUL character (SQLSTATE 22021) wherever it comes from (an id argument, a
 * name…): that is the client's input, not a server fault, so it is reported as such instead of being masked.
 */
function unstorableText(error: unknown): GraphQLError | undefined {
  // The database error may be wrapped (GraphQLError.originalError, drizzle's DrizzleQueryError.cause).
  for (let e = error as { code?: string; originalError?: unknown; cause?: unknown } | undefined; e; ) {
    if (e.code === '22021') {
      return new AppError('BAD_USER_INPUT', 'an argument contains a NUL character or invalid UTF-8, which cannot be stored');
    }
    e = (e.originalError ?? e.cause) as typeof e;
  }
  return undefined;
}

export function createGraphqlServer(services: Services): Yoga {
  const { config, logger } = services;
  return createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: { title: 'Hookline GraphiQL' },
    // Anything that is not an AppError (a GraphQLError) is masked as "Unexpected error." and logged. A lost
    // database is no server bug and tells the client what to do: SERVICE_UNAVAILABLE (HTTP 503), retry later.
    maskedErrors: {
      maskError: (error, message, isDev) =>
        unstorableText(error) ??
        (isDatabaseUnavailable(error)
          ? new AppError('SERVICE_UNAVAILABLE', 'the database is unavailable; retry later')
          : maskError(error, message, isDev)),
    },
    logging: {
      debug: (...args) => logger.debug({ yoga: args }),
      info: (...args) => logger.info({ yoga: args }),
      warn: (...args) => logger.warn({ yoga: args }),
      error: (...args) => logger.error({ yoga: args }),
    },
    // For HTTP the request's header; for graphql-ws the connectionParams (see ws.ts).
    context: ({ request, connectionParams }: { request?: Request; connectionParams?: Record<string, unknown> }) =>
      createContext(
        services,
        connectionParams ? String(connectionParams.authorization ?? '') : request?.headers.get('authorization'),
      ),
    plugins: [
      EnvelopArmorPlugin({
        maxDepth: {
          n: config.HOOKLINE_MAX_DEPTH,
          ignoreIntrospection: true,
          flattenFragments: true,
          ...limit('HOOKLINE_MAX_DEPTH'),
        },
        maxAliases: { n: config.HOOKLINE_MAX_ALIASES, ...limit('HOOKLINE_MAX_ALIASES') },
        // Counted while parsing, before validation: refused as GRAPHQL_PARSE_FAILED.
        maxTokens: { n: config.HOOKLINE_MAX_TOKENS },
        // The default (5000) rejects an ordinary nested Relay page; sized for the console's largest query.
        costLimit: { maxCost: config.HOOKLINE_MAX_COST, ignoreIntrospection: true, ...limit('HOOKLINE_MAX_COST') },
        maxDirectives: { n: 50, ...limit() },
        blockFieldSuggestion: { enabled: false },
      }),
      requireToken,
      rateLimitPlugin(rateLimiterFor(config)),
      codeVariableErrors,
    ],
  });
}
