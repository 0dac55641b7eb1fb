import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Receivers that misbehave, each a real server on 127.0.0.1: they hang, reset, trickle, answer garbage, stream a
 * huge body or present a self-signed certificate. Each counts its connections and says when they were closed, so
 * a test can check that Hookline let go of them.
 */
export interface BadReceiver {
  /** http(s)://127.0.0.1:<port> */
  url: string;
  /** Connections accepted so far (TCP, before any TLS handshake). */
  connections: number;
  /** Requests whose head was read (for HTTPS: after a completed handshake). */
  requests: number;
  /** Connections closed so far (by either side). */
  closed: number;
  close(): Promise<void>;
}

/** What the huge-body receiver managed to hand to the kernel before the connection closed. */
export interface HugeBodyReceiver extends BadReceiver {
  /** Bytes of body written per connection, recorded when that connection closed. */
  bytesWrittenAtClose: number[];
}

/** Tracks sockets of any server: counts them and destroys the survivors on close(). */
function tracked(server: NetServer | HttpServer, protocol: 'http' | 'https') {
  const sockets = new Set<Socket>();
  const receiver: BadReceiver = {
    url: '',
    connections: 0,
    requests: 0,
    closed: 0,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on('connection', (socket: Socket) => {
    receiver.connections++;
    sockets.add(socket);
    socket.on('close', () => {
      receiver.closed++;
      sockets.delete(socket);
    });
  });
  server.on('request', () => receiver.requests++);
  return {
    receiver,
    async listen() {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      receiver.url = `${protocol}://127.0.0.1:${(server.address() as AddressInfo).port}`;
      return receiver;
    },
  };
}

/** Reads the request head (up to the blank line), then hands the socket over (emitting 'request'). */
function rawServer(onRequest: (socket: Socket) => void): NetServer {
  const server: NetServer = createNetServer((socket) => {
    let head = '';
    socket.on('error', () => {});
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.resume(); // drain the body, if any
      server.emit('request');
      onRequest(socket);
    };
    socket.on('data', onData);
  });
  return server;
}

/** Accepts the request and never answers. */
export function startHangingReceiver(): Promise<BadReceiver> {
  return tracked(
    createHttpServer(() => {}),
    'http',
  ).listen();
}

/** Reads the request, then resets the connection (TCP RST) instead of answering. */
export function startResettingReceiver(): Promise<BadReceiver> {
  return tracked(
    rawServer((socket) => socket.resetAndDestroy()),
    'http',
  ).listen();
}

/** Answers with bytes that are not HTTP, then closes. */
export function startGarbageReceiver(): Promise<BadReceiver> {
  return tracked(
    rawServer((socket) => socket.end('HELLO FROM A SERVER THAT DOES NOT SPEAK HTTP\r\n\r\n')),
    'http',
  ).listen();
}

/** Sends a 200 status line and headers at once, then the promised 10,000-byte body one byte per second. */
export function startTricklingReceiver(): Promise<BadReceiver> {
  return tracked(
    rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 10000\r\n\r\n');
      const timer = setInterval(() => socket.write('.'), 1000);
      socket.on('close', () => clearInterval(timer));
    }),
    'http',
  ).listen();
}

/**
 * Answers `status` with a `bytes`-long body, written in 64 KiB chunks as fast as the client takes them (honouring
 * backpressure, so what was written is what the client's socket accepted, plus the kernel's buffers).
 */
export async function startHugeBodyReceiver(status: number, bytes: number): Promise<HugeBodyReceiver> {
  const bytesWrittenAtClose: number[] = [];
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const server = createHttpServer((req, res) => {
    req.resume();
    res.writeHead(status, { 'content-type': 'text/plain', 'content-length': String(bytes) });
    let written = 0;
    res.on('close', () => bytesWrittenAtClose.push(written));
    const pump = () => {
      while (written < bytes && !res.destroyed) {
        const piece = chunk.subarray(0, Math.min(chunk.length, bytes - written));
        written += piece.length;
        if (!res.write(piece)) return void res.once('drain', pump);
      }
      if (written >= bytes) res.end();
    };
    pump();
  });
  const receiver = await tracked(server, 'http').listen();
  return Object.assign(receiver, { bytesWrittenAtClose });
}

/** An HTTPS server whose certificate is self-signed (made with openssl now); it would answer 200 "ok". */
export async function startSelfSignedReceiver(): Promise<BadReceiver> {
  const dir = await mkdtemp(join(tmpdir(), 'hookline-selfsigned-'));
  try {
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ]);
    const [key, cert] = await Promise.all([readFile(join(dir, 'key.pem')), readFile(join(dir, 'cert.pem'))]);
    const server = createHttpsServer({ key, cert }, (req, res) => {
      req.resume();
      res.end('ok');
    });
    server.on('tlsClientError', () => {});
    return await tracked(server, 'https').listen();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
