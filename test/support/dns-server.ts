import { Socket, createSocket } from 'node:dgram';
import { isIPv4 } from 'node:net';

const TYPE_A = 1;
const TYPE_AAAA = 28;

/** The 16 bytes of an IPv6 address (`::` expanded). */
function ipv6Bytes(address: string): Buffer {
  const [head, tail = ''] = address.split('::');
  const headParts = head ? head.split(':') : [];
  const tailParts = tail ? tail.split(':') : [];
  const parts = address.includes('::')
    ? [...headParts, ...Array(8 - headParts.length - tailParts.length).fill('0'), ...tailParts]
    : headParts;
  const bytes = Buffer.alloc(16);
  parts.forEach((part, index) => bytes.writeUInt16BE(parseInt(part, 16), index * 2));
  return bytes;
}

/**
 * A DNS server on a loopback UDP port for tests, answering A and AAAA queries from a table the
 * test changes as it goes (a name absent from it is NXDOMAIN): what WEBHOOK_DNS_SERVERS points
 * the platform's resolver at. It counts the queries it answered.
 */
export class TestDnsServer {
  readonly records = new Map<string, string[]>();
  queries: string[] = [];

  private constructor(
    private readonly socket: Socket,
    readonly port: number,
  ) {}

  static async start(): Promise<TestDnsServer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const server = new TestDnsServer(socket, socket.address().port);
    socket.on('message', (query, peer) => {
      const answer = server.answer(query);
      if (answer) socket.send(answer, peer.port, peer.address);
    });
    return server;
  }

  /** `127.0.0.1:<port>`, for WEBHOOK_DNS_SERVERS. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  set(name: string, ...addresses: string[]): void {
    this.records.set(name.toLowerCase(), addresses);
  }

  close(): void {
    this.socket.close();
  }

  private answer(query: Buffer): Buffer | undefined {
    if (query.length < 17) return undefined;
    const labels: string[] = [];
    let offset = 12;
    while (query[offset] !== 0) {
      const length = query[offset];
      labels.push(query.subarray(offset + 1, offset + 1 + length).toString('ascii'));
      offset += length + 1;
      if (offset >= query.length) return undefined;
    }
    const questionEnd = offset + 5;
    const type = query.readUInt16BE(offset + 1);
    const name = labels.join('.').toLowerCase();
    this.queries.push(`${name}/${type === TYPE_A ? 'A' : type === TYPE_AAAA ? 'AAAA' : type}`);
    const addresses = this.records.get(name);
    const matching = (addresses ?? []).filter((address) =>
      type === TYPE_A ? isIPv4(address) : type === TYPE_AAAA ? !isIPv4(address) : false,
    );
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // the query's id
    header.writeUInt16BE(addresses ? 0x8180 : 0x8183, 2); // response, recursion; NXDOMAIN when unknown
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(matching.length, 6);
    const answers = matching.map((address) => {
      const data =
        type === TYPE_A ? Buffer.from(address.split('.').map(Number)) : ipv6Bytes(address);
      const record = Buffer.alloc(12);
      record.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
      record.writeUInt16BE(type, 2);
      record.writeUInt16BE(1, 4); // IN
      record.writeUInt32BE(0, 6); // TTL 0: every lookup asks again
      record.writeUInt16BE(data.length, 10);
      return Buffer.concat([record, data]);
    });
    return Buffer.concat([header, query.subarray(12, questionEnd), ...answers]);
  }
}
