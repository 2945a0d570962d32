/**
 * A TCP proxy in front of a store server that fails on demand, as a network or a hung server does: `forward`,
 * `blackhole` (accepts and swallows, and what it silenced stays silent) and `reset` (RST, nothing listens).
 * docs/design.md §9.
 */
import net from 'node:net';

export type ProxyMode = 'forward' | 'blackhole' | 'reset';

export interface FaultProxy {
  /** 127.0.0.1:PORT, to put in a store URL in place of the server's address. */
  readonly address: string;
  readonly port: number;
  mode(): ProxyMode;
  set(mode: ProxyMode): Promise<void>;
  close(): Promise<void>;
}

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  let mode: ProxyMode = 'forward';
  let server: net.Server | null = null;
  const open = new Set<net.Socket>();
  const relays = new Map<net.Socket, net.Socket>(); // client → server side, while relayed

  const swallow = (client: net.Socket) => {
    const upstream = relays.get(client);
    relays.delete(client);
    if (upstream) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      upstream.destroy();
    }
    client.on('data', () => {});
    client.resume();
  };

  const onConnection = (client: net.Socket) => {
    open.add(client);
    client.on('error', () => {});
    client.on('close', () => {
      open.delete(client);
      relays.get(client)?.destroy();
      relays.delete(client);
    });
    if (mode !== 'forward') return swallow(client);
    const upstream = net.connect(target.port, target.host);
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => {
      if (relays.get(client) === upstream) client.destroy();
    });
    relays.set(client, upstream);
    client.pipe(upstream);
    upstream.pipe(client);
  };

  const listen = (port: number) =>
    new Promise<net.Server>((resolve, reject) => {
      const s = net.createServer(onConnection);
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve(s));
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      if (!server) return resolve();
      server.close(() => resolve());
      server = null;
    });

  server = await listen(0);
  const port = (server.address() as net.AddressInfo).port;

  return {
    address: `127.0.0.1:${port}`,
    port,
    mode: () => mode,
    async set(next) {
      if (next === mode) return;
      const was = mode;
      mode = next;
      if (next === 'blackhole') for (const client of open) swallow(client);
      if (next === 'reset') {
        const closed = stopListening();
        for (const client of open) {
          relays.get(client)?.destroy();
          client.resetAndDestroy();
        }
        await closed;
      }
      if (was === 'reset') server = await listen(port);
    },
    async close() {
      for (const client of open) client.destroy();
      await stopListening();
    },
  };
}

/** A proxy in front of the server of a store URL (mysql://, redis://, dynamodb://…&endpoint=), and the URL through it. */
export async function proxyStore(url: string): Promise<{ url: string; proxy: FaultProxy }> {
  const u = new URL(url);
  const server = u.protocol === 'dynamodb:' ? new URL(u.searchParams.get('endpoint')!) : u;
  const proxy = await startFaultProxy({
    host: server.hostname,
    port: Number(server.port || (u.protocol === 'mysql:' ? 3306 : 6379)),
  });
  if (u.protocol === 'dynamodb:') u.searchParams.set('endpoint', `http://${proxy.address}`);
  else u.host = proxy.address;
  return { url: u.href, proxy };
}
