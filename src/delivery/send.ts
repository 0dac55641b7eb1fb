import type { LookupAddress } from 'node:dns';
import { isIPv6 } from 'node:net';
import { Agent, request, type Dispatcher } from 'undici';
import type { KeyValue } from '../../schema/db/enums.js';
import type { Mailer } from '../mail/mailer.js';
import { eventMail } from '../mail/messages.js';
import type { Keyring } from '../security/crypto.js';
import type { TargetPolicy } from '../security/targets.js';
import type { AttemptOutcome, AttemptRecord, AttemptResult, DeliveryJob } from './job.js';
import { RenderError } from './render.js';
import { buildRequest, redactCredentials } from './request.js';

/** At most this much of a response body is read and stored; the rest is never read. */
export const MAX_RESPONSE_BYTES = 16 * 1024;

/** The reason an attempt was cut short by the worker (shutdown), as opposed to by its timeout. */
class AttemptAborted extends Error {}

class AttemptTimeout extends Error {}

/** A connection the target policy refused: nothing was sent. */
class RefusedTarget extends Error {
  readonly code = 'EHOOKLINE_REFUSED';
}

/**
 * Sends one attempt of a delivery and describes what happened; never throws. HTTP goes through one keep-alive
 * undici Agent. Every host is resolved and checked against the target policy before each send, and again inside
 * the connection's own DNS lookup, so the socket only ever connects to an address that was checked (a DNS answer
 * that changes between the check and the connect cannot redirect it). Redirects are never followed.
 */
export class Sender {
  private readonly agent: Agent;

  constructor(
    private readonly targets: TargetPolicy,
    private readonly mailer: Mailer,
    /** Decrypts the webhook secret and the endpoint's credentials of each job, as it is sent. */
    private readonly keyring: Keyring,
  ) {
    this.agent = new Agent({
      keepAliveTimeout: 10_000,
      connect: {
        timeout: 30_000,
        lookup: (hostname, options, callback) => this.checkedLookup(hostname, options, callback),
      },
    });
  }

  /** `signal` aborts the attempt from outside (shutdown); the result then has an AttemptAborted error. */
  send(job: DeliveryJob, signal?: AbortSignal): Promise<AttemptResult> {
    return job.endpoint.kind === 'EMAIL' ? this.sendMail(job, signal) : this.sendHttp(job, signal);
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private async sendHttp(job: DeliveryJob, signal: AbortSignal | undefined): Promise<AttemptResult> {
    const { endpoint } = job;
    const attempt = new AttemptClock(job.attemptNumber, endpoint.url ?? '');
    const deadline = deadlineSignal(endpoint.timeoutMs, signal);
    try {
      const { url, headers, body } = await buildRequest(job, attempt.request.startedAt, this.keyring);
      attempt.request.requestUrl = url.toString();
      attempt.request.requestBody = body;
      attempt.request.requestHeaders = redactCredentials(headers, endpoint);

      const check = await untilAborted(this.targets.check(url), deadline.signal);
      if (!check.ok) throw new RefusedTarget(`refused: ${check.reason}; nothing was sent`);

      const response = await request(url, {
        dispatcher: this.agent,
        method: endpoint.method,
        headers: Object.fromEntries(headers.map((h) => [h.key, h.value])),
        body: body ?? undefined,
        signal: deadline.signal,
      });
      const responseBody = await readCapped(response.body, MAX_RESPONSE_BYTES);
      const status = response.statusCode;
      const ok = status >= 200 && status < 300;
      return attempt.finish(ok ? 'success' : 'http_error', {
        responseStatus: status,
        responseHeaders: headerList(response.headers),
        responseBody,
        error: ok ? null : httpError(status, response.headers),
        retryAfter: single(response.headers['retry-after']),
      });
    } catch (err) {
      return attempt.failed(describe(err, deadline.signal, endpoint.timeoutMs));
    } finally {
      deadline.clear();
    }
  }

  private async sendMail(job: DeliveryJob, signal: AbortSignal | undefined): Promise<AttemptResult> {
    const message = eventMail(job);
    const attempt = new AttemptClock(job.attemptNumber, `mailto:${message.to.join(',')}`);
    attempt.request.requestHeaders = [
      { key: 'to', value: message.to.join(', ') },
      { key: 'subject', value: message.subject },
    ];
    attempt.request.requestBody = message.text;
    const deadline = deadlineSignal(job.endpoint.timeoutMs, signal);
    try {
      if (message.to.length === 0) throw new Error('the endpoint has no e-mail addresses (emailTo)');
      const answer = await untilAborted(this.mailer.send(message), deadline.signal);
      return attempt.finish('success', { responseBody: answer });
    } catch (err) {
      return attempt.failed(describe(err, deadline.signal, job.endpoint.timeoutMs));
    } finally {
      deadline.clear();
    }
  }

  /** The socket's DNS lookup: resolves through the target policy and hands over only checked addresses. */
  private checkedLookup(
    hostname: string,
    options: { all?: boolean },
    callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
  ): void {
    this.targets.check(new URL(`http://${hostname}`)).then(
      (check) => {
        if (!check.ok) return callback(new RefusedTarget(`refused at connect: ${check.reason}; nothing was sent`), '');
        const addresses = check.addresses.map((address) => ({ address, family: isIPv6(address) ? 6 : 4 }));
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0].address, addresses[0].family);
      },
      (err: Error) => callback(err, ''),
    );
  }
}

/** Builds the attempt record as the attempt goes. */
class AttemptClock {
  private readonly started = performance.now();
  readonly request: Pick<AttemptRecord, 'startedAt' | 'requestUrl' | 'requestHeaders' | 'requestBody'>;

  constructor(
    private readonly number: number,
    requestUrl: string,
  ) {
    this.request = { startedAt: new Date(), requestUrl, requestHeaders: [], requestBody: null };
  }

  finish(
    outcome: AttemptOutcome,
    response: Partial<Pick<AttemptRecord, 'responseStatus' | 'responseHeaders' | 'responseBody' | 'error'>> & {
      retryAfter?: string | null;
    },
  ): AttemptResult {
    const { retryAfter = null, ...rest } = response;
    return {
      outcome,
      retryAfter,
      attempt: {
        number: this.number,
        ...this.request,
        durationMs: Math.round(performance.now() - this.started),
        responseStatus: null,
        responseHeaders: null,
        responseBody: null,
        error: null,
        ...rest,
      },
    };
  }

  failed({ outcome, error }: { outcome: AttemptOutcome; error: string }): AttemptResult {
    return this.finish(outcome, { error });
  }
}

function headerList(headers: Record<string, string | string[] | undefined>): KeyValue[] {
  return Object.entries(headers).flatMap(([key, value]) =>
    value === undefined ? [] : (Array.isArray(value) ? value : [value]).map((v) => ({ key, value: v })),
  );
}

function single(value: string | string[] | undefined): string | null {
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

function httpError(status: number, headers: Record<string, string | string[] | undefined>): string {
  if (status >= 300 && status < 400) {
    const location = single(headers.location);
    return `HTTP ${status}: redirects are not followed${location ? ` (Location: ${location})` : ''}`;
  }
  return `HTTP ${status}`;
}

/** Reads at most `max` bytes of a response body, then stops reading (the connection is dropped, not drained). */
async function readCapped(body: Dispatcher.ResponseData['body'], max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const room = max - size;
    chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
    size += Math.min(chunk.length, room);
    if (size >= max) break; // leaving the loop destroys the stream
  }
  // PostgreSQL text cannot hold NUL characters.
  return Buffer.concat(chunks).toString('utf8').replaceAll('\0', '\uFFFD');
}

/**
 * A signal that fires after `timeoutMs` or when `outer` fires, whichever is first. It is the one deadline for the
 * whole exchange (connect, headers, body): undici's headersTimeout/bodyTimeout are idle timers (300 s by default,
 * reset by every byte), which a receiver trickling a byte a second would never trip.
 */
function deadlineSignal(timeoutMs: number, outer: AbortSignal | undefined) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new AttemptTimeout()), timeoutMs);
  const onOuter = () => controller.abort(new AttemptAborted('the worker is shutting down'));
  if (outer?.aborted) onOuter();
  else outer?.addEventListener('abort', onOuter, { once: true });
  return {
    signal: controller.signal,
    clear() {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    },
  };
}

/** Settles as `promise` does, or rejects with the signal's reason as soon as it fires. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Turns whatever went wrong into an outcome and a message a person can act on. */
function describe(err: unknown, signal: AbortSignal, timeoutMs: number): { outcome: AttemptOutcome; error: string } {
  if (signal.aborted && signal.reason instanceof AttemptTimeout) {
    return { outcome: 'timeout', error: `timed out after ${timeoutMs} ms` };
  }
  if (signal.aborted && signal.reason instanceof AttemptAborted) return { outcome: 'error', error: signal.reason.message };
  const refused = findCause(err, (e) => e instanceof RefusedTarget);
  if (refused) return { outcome: 'refused', error: refused.message };
  if (err instanceof RenderError) return { outcome: 'error', error: err.message };
  const parser = findCause(err, (e) => e.name === 'HTTPParserError');
  if (parser) return { outcome: 'error', error: `invalid HTTP response from the receiver: ${parser.message}` };
  const cause = findCause(err, (e) => typeof (e as NodeJS.ErrnoException).code === 'string') ?? (err as Error);
  const code = (cause as NodeJS.ErrnoException).code;
  const message = cause?.message || String(err);
  const plain = code && !message.includes(code) ? `${code}: ${message}` : message;
  return { outcome: 'error', error: socketError(code, message) ?? plain };
}

/** Certificate checks that fail on the receiver's side of TLS (Node's codes, from OpenSSL's verify results). */
const UNTRUSTED_CERTIFICATE = /^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_|CERT_|ERR_TLS_CERT_ALTNAME_INVALID)/;

/**
 * What a receiver that misbehaves on the wire did, said so that its owner recognises it; the code stays at the end
 * for searching. Undefined for anything else (described by its own message).
 */
function socketError(code: string | undefined, message: string): string | undefined {
  if (!code) return undefined;
  if (code === 'ECONNRESET') return `connection reset by the receiver (${code})`;
  // undici's "other side closed": the receiver closed the connection before a whole response arrived.
  if (code === 'UND_ERR_SOCKET') return `connection closed by the receiver before a complete response (${message})`;
  if (UNTRUSTED_CERTIFICATE.test(code)) return `TLS: the receiver's certificate is not trusted: ${message} (${code})`;
  if (code.startsWith('ERR_SSL_')) return `TLS handshake with the receiver failed: ${message} (${code})`;
  return undefined;
}

function findCause(err: unknown, test: (e: Error) => boolean): Error | undefined {
  for (let e = err as Error | undefined, depth = 0; e && depth < 5; e = e.cause as Error | undefined, depth++) {
    if (e instanceof Error && test(e)) return e;
  }
  return undefined;
}
