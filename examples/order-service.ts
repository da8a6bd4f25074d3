/**
 * A tiny example of a business's own service behind HTTP functions (flows/order-status-ivr.yaml):
 * order lookups and return requests from a small in-memory table.
 *
 * It shows what such an endpoint has to do: read the raw body, check callbridge's signature
 * (X-Callbridge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the
 * shared secret>) in constant time, refuse old timestamps, then answer JSON. The verification is
 * written out here on purpose (not imported from callbridge) so it documents the scheme.
 *
 * Run alone: ORDER_SERVICE_SECRET=… npx tsx examples/order-service.ts   (port ORDER_SERVICE_PORT, default 4100)
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';

export interface OrderServiceOptions {
  /** 0 picks a free port. */
  port: number;
  secret: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Largest accepted clock difference, seconds. Default 300. */
  toleranceS?: number;
  /** Unix ms; tests move the clock. */
  now?: () => number;
}

export interface OrderService {
  /** http://host:port */
  url: string;
  port: number;
  close(): Promise<void>;
}

interface Order {
  status: 'processing' | 'shipped' | 'delivered' | 'cancelled';
  items: string[];
  placedOn: string;
  carrier?: string;
  trackingNumber?: string;
  expectedDelivery?: string;
  deliveredOn?: string;
}

/** The demo orders (a fresh copy per service, so returns never leak between instances). */
function demoOrders(): Map<string, Order> {
  return new Map<string, Order>([
    ['A1001', { status: 'processing', items: ['Blue running shoes, size 42'], placedOn: '2025-03-08' }],
    ['A1002', { status: 'shipped', items: ['Rain jacket, M', 'Wool socks'], placedOn: '2025-03-04', carrier: 'UPS', trackingNumber: '1Z999AA10123456784', expectedDelivery: '2025-03-12' }],
    ['A1003', { status: 'delivered', items: ['Coffee grinder'], placedOn: '2025-02-20', deliveredOn: '2025-02-25' }],
    ['A1004', { status: 'cancelled', items: ['Desk lamp'], placedOn: '2025-02-28' }],
  ]);
}

const RETURN_REASONS = new Set(['damaged', 'wrong_item', 'no_longer_needed', 'other']);
const MAX_BODY_BYTES = 64 * 1024;

/** The signature check a business endpoint needs. */
export function signatureIsValid(secret: string, header: string | undefined, rawBody: string, nowS: number, toleranceS: number): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!match) return false;
  const t = Number(match[1]);
  if (Math.abs(nowS - t) > toleranceS) return false;
  const expected = createHmac('sha256', secret).update(`${match[1]}.${rawBody}`).digest();
  return timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'));
}

function normalizeOrderNumber(v: unknown): string {
  return String(v ?? '').replace(/[\s-]/g, '').toUpperCase();
}

export function startOrderService(options: OrderServiceOptions): Promise<OrderService> {
  const orders = demoOrders();
  const returns = new Map<string, string>();
  const now = options.now ?? Date.now;
  const toleranceS = options.toleranceS ?? 300;

  const server = http.createServer((req, res) => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method !== 'POST') return reply(405, { error: 'use POST' });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      if (!signatureIsValid(options.secret, req.headers['x-callbridge-signature'] as string | undefined, raw, Math.floor(now() / 1000), toleranceS)) {
        return reply(401, { error: 'invalid signature' });
      }
      let args: Record<string, unknown>;
      try {
        args = (JSON.parse(raw) as { args?: Record<string, unknown> }).args ?? {};
      } catch {
        return reply(400, { error: 'body is not JSON' });
      }
      const number = normalizeOrderNumber(args.order_number);
      const order = orders.get(number);
      if (req.url === '/orders/lookup') {
        if (!order) return reply(200, { found: false, order_number: number, note: 'No order has this number; ask the caller to check it (a letter and four digits, e.g. A1001).' });
        return reply(200, { found: true, order_number: number, ...order, returnStarted: returns.has(number) });
      }
      if (req.url === '/returns') {
        if (!order) return reply(404, { error: `No order has the number ${number}; ask the caller to check it.` });
        if (order.status !== 'delivered') return reply(409, { error: `Order ${number} is ${order.status}; only delivered orders can be returned.` });
        const reason = String(args.reason ?? 'other');
        if (!RETURN_REASONS.has(reason)) return reply(400, { error: `Unknown return reason "${reason}".` });
        const existing = returns.get(number);
        if (existing) return reply(200, { status: 'return_started', return_id: existing, order_number: number, note: 'A return was already started for this order.' });
        const id = `R${number.slice(1)}-${returns.size + 1}`;
        returns.set(number, id);
        return reply(200, { status: 'return_started', return_id: id, order_number: number, label: 'A prepaid return label is sent by email.' });
      }
      return reply(404, { error: 'not found' });
    });
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      const { address, port } = server.address() as AddressInfo;
      const host = address.includes(':') ? `[${address}]` : address;
      resolve({
        url: `http://${host}:${port}`,
        port,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const secret = process.env.ORDER_SERVICE_SECRET || 'dev-only-order-secret-change-me';
  const port = Number(process.env.ORDER_SERVICE_PORT || 4100);
  const service = await startOrderService({ port, secret });
  console.log(`order service on ${service.url} (POST /orders/lookup, /returns)`);
}
