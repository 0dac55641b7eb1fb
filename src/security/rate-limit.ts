import { getOperationAST, Kind, type DocumentNode, type SelectionSetNode, type ValueNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { Context } from '../graphql/context.js';

/** `count` per `perMs` milliseconds, as configured (`100/s`); null: no limit. */
export interface Rate {
  count: number;
  perMs: number;
  /** As written in the configuration, for messages. */
  text: string;
}

/** What each API token may spend: mutations (other than publishing) and published events; feed tokens: requests. */
export type BucketKind = 'mutations' | 'publish' | 'feed';

const SETTING: Record<BucketKind, string> = {
  mutations: 'HOOKLINE_RATE_LIMIT_MUTATIONS',
  publish: 'HOOKLINE_RATE_LIMIT_PUBLISH',
  feed: 'HOOKLINE_RATE_LIMIT_FEED',
};
const UNIT: Record<BucketKind, string> = { mutations: 'mutations', publish: 'published events', feed: 'feed requests' };

export type Verdict = { ok: true } | { ok: false; kind: BucketKind; retryAfterMs: number };

/** How often buckets that have refilled completely are forgotten. */
const SWEEP_EVERY_MS = 10_000;

interface Bucket {
  kind: BucketKind;
  level: number;
  at: number;
}

/**
 * Token buckets per API token and kind, in this process's memory: each bucket holds up to `count` and refills at
 * `count` per `perMs`, so a token may spend a whole period's allowance at once and then the steady rate. With N api
 * processes behind a load balancer a token may spend up to N times the rate (nothing is shared between processes;
 * the limit is a guard against a runaway client, not an exact quota).
 *
 * A request that costs more than a bucket can hold (a publishEvents batch larger than the whole allowance) is let
 * through once the bucket is full and leaves it in debt, so it is paid for at the steady rate without ever being
 * refused outright.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private nextSweep = 0;

  constructor(
    /** A kind left out or null is not limited. */
    private readonly rates: Partial<Record<BucketKind, Rate | null>>,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Spends `costs` from the token's buckets if every one of them has enough; otherwise spends nothing. */
  take(tokenId: string, costs: Partial<Record<BucketKind, number>>): Verdict {
    const now = this.now();
    if (now >= this.nextSweep) this.sweep(now);
    const spends: { bucket: Bucket; cost: number }[] = [];
    for (const [kind, cost] of Object.entries(costs) as [BucketKind, number][]) {
      const rate = this.rates[kind];
      if (!rate || cost <= 0) continue;
      const key = `${kind}:${tokenId}`;
      let bucket = this.buckets.get(key);
      if (!bucket) this.buckets.set(key, (bucket = { kind, level: rate.count, at: now }));
      bucket.level = this.levelAt(bucket, rate, now);
      bucket.at = now;
      const needed = Math.min(cost, rate.count);
      if (bucket.level < needed) {
        return { ok: false, kind, retryAfterMs: Math.ceil(((needed - bucket.level) * rate.perMs) / rate.count) };
      }
      spends.push({ bucket, cost });
    }
    for (const { bucket, cost } of spends) bucket.level -= cost;
    return { ok: true };
  }

  /** Buckets held in memory (a full bucket is forgotten within SWEEP_EVERY_MS: it is the same as a new one). */
  get size(): number {
    return this.buckets.size;
  }

  private levelAt(bucket: Bucket, rate: Rate, now: number): number {
    return Math.min(rate.count, bucket.level + ((now - bucket.at) * rate.count) / rate.perMs);
  }

  /**
   * Keys need not be bounded (feed tokens are counted before they are looked up, so every guess has a bucket):
   * forgetting full buckets keeps memory in proportion to recent traffic.
   */
  private sweep(now: number): void {
    this.nextSweep = now + SWEEP_EVERY_MS;
    for (const [key, bucket] of this.buckets) {
      const rate = this.rates[bucket.kind];
      if (!rate || this.levelAt(bucket, rate, now) >= rate.count) this.buckets.delete(key);
    }
  }

  /** The refusal for a verdict that was not ok: RATE_LIMITED, saying when to try again (also as Retry-After). */
  refusal(verdict: Extract<Verdict, { ok: false }>): AppError {
    const rate = this.rates[verdict.kind]!;
    const seconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
    return new AppError(
      'RATE_LIMITED',
      `rate limit: this token may make at most ${rate.text} ${UNIT[verdict.kind]} (${SETTING[verdict.kind]}); ` +
        `try again in ${seconds} s`,
      { retryAfterSeconds: seconds },
    );
  }
}

export function rateLimiterFor(config: Config): RateLimiter {
  return new RateLimiter({
    mutations: config.HOOKLINE_RATE_LIMIT_MUTATIONS,
    publish: config.HOOKLINE_RATE_LIMIT_PUBLISH,
    feed: config.HOOKLINE_RATE_LIMIT_FEED,
  });
}

/**
 * Refuses a mutation, before anything of it runs, when its token is over its rate: each root field counts one
 * mutation, except publishEvent (one published event) and publishEvents (one per input). Over HTTP and graphql-ws
 * alike, since both execute through this envelop. Queries and subscriptions are not limited here.
 */
export function rateLimitPlugin(limiter: RateLimiter): Plugin<Context> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const viewer = (args.contextValue as Context).viewer;
      const operation = getOperationAST(args.document, args.operationName);
      if (!viewer || !operation || operation.operation === 'subscription') return;
      const costs = { mutations: 0, publish: 0 };
      for (const field of rootFields(args.document, operation.selectionSet)) {
        // Reads are free, except previewRequest: it renders a template and signs, as much work as a mutation.
        if (operation.operation === 'query') costs.mutations += field.name === 'previewRequest' ? 1 : 0;
        else if (field.name === 'publishEvent') costs.publish += 1;
        else if (field.name === 'publishEvents') costs.publish += listLength(field.inputs, args.variableValues);
        else if (field.name !== '__typename') costs.mutations += 1;
      }
      const verdict = limiter.take(viewer.tokenId, costs);
      if (!verdict.ok) setResultAndStopExecution({ errors: [limiter.refusal(verdict)] });
    },
  };
}

/** The operation's root fields, through fragments, with the `inputs` argument where there is one. */
function* rootFields(
  document: DocumentNode,
  selectionSet: SelectionSetNode,
): Generator<{ name: string; inputs?: ValueNode }> {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      yield { name: selection.name.value, inputs: selection.arguments?.find((a) => a.name.value === 'inputs')?.value };
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      yield* rootFields(document, selection.selectionSet);
    } else {
      const fragment = document.definitions.find(
        (d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === selection.name.value,
      );
      if (fragment?.kind === Kind.FRAGMENT_DEFINITION) yield* rootFields(document, fragment.selectionSet);
    }
  }
}

/** How many items a list argument holds (a single value counts one, as GraphQL coerces it to a list of one). */
function listLength(value: ValueNode | undefined, variables: Record<string, unknown> | null | undefined): number {
  if (!value) return 0;
  if (value.kind === Kind.LIST) return value.values.length;
  if (value.kind === Kind.VARIABLE) {
    const given = variables?.[value.name.value];
    return Array.isArray(given) ? given.length : given == null ? 0 : 1;
  }
  return 1;
}
