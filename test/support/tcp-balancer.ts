/**
 * A TCP load balancer on 127.0.0.1 for multi-instance tests: each new connection goes to the
 * port `pick(n)` names (n counts connections from 0), bytes piped both ways. Like a real balancer
 * with no affinity, it can send a call's webhook to one instance and its media stream to another.
 */
import net from 'node:net';

export interface Balancer {
  url: string;
  port: number;
  /** Connections routed so far, per target port. */
  routed: Map<number, number>;
  close(): Promise<void>;
}

export async function startBalancer(pick: (n: number) => number): Promise<Balancer> {
  let n = 0;
  const routed = new Map<number, number>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const port = pick(n++);
    routed.set(port, (routed.get(port) ?? 0) + 1);
    const upstream = net.connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    routed,
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}
