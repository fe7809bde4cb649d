/**
 * Writes a small MaxMind DB (MMDB v2) file: the format GeoLite2/GeoIP2 databases ship in, so tests can give
 * Gatehouse a real GeoIP database of known networks. IPv4 tree, 32-bit records. Format:
 * https://maxmind.github.io/MaxMind-DB/ (search tree, 16-byte separator, data section, metadata after a marker).
 */
type Tagged = { u16: number } | { u32: number } | { u64: number };
export type MmdbValue = string | number | boolean | Tagged | MmdbValue[] | { [key: string]: MmdbValue };

const u16 = (n: number): Tagged => ({ u16: n });
const u32 = (n: number): Tagged => ({ u32: n });
const u64 = (n: number): Tagged => ({ u64: n });

function control(type: number, size: number): number[] {
  const extended = type > 7;
  let bits: number;
  let extra: number[] = [];
  if (size < 29) bits = size;
  else if (size < 285) (bits = 29), (extra = [size - 29]);
  else if (size < 65_821) (bits = 30), (extra = [(size - 285) >> 8, (size - 285) & 255]);
  else (bits = 31), (extra = [((size - 65_821) >> 16) & 255, ((size - 65_821) >> 8) & 255, (size - 65_821) & 255]);
  return [((extended ? 0 : type) << 5) | bits, ...(extended ? [type - 7] : []), ...extra];
}

function uint(type: number, n: number): number[] {
  const bytes: number[] = [];
  for (let v = BigInt(n); v > 0n; v >>= 8n) bytes.unshift(Number(v & 255n));
  return [...control(type, bytes.length), ...bytes];
}

function encode(v: MmdbValue): number[] {
  if (typeof v === 'string') {
    const b = [...Buffer.from(v, 'utf8')];
    return [...control(2, b.length), ...b];
  }
  if (typeof v === 'number') {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(v);
    return [...control(3, 8), ...b];
  }
  if (typeof v === 'boolean') return control(14, v ? 1 : 0);
  if (Array.isArray(v)) return [...control(11, v.length), ...v.flatMap(encode)];
  if ('u16' in v && typeof v.u16 === 'number') return uint(5, v.u16);
  if ('u32' in v && typeof v.u32 === 'number') return uint(6, v.u32);
  if ('u64' in v && typeof v.u64 === 'number') return uint(9, v.u64);
  const entries = Object.entries(v as Record<string, MmdbValue>);
  return [...control(7, entries.length), ...entries.flatMap(([k, x]) => [...encode(k), ...encode(x)])];
}

type Rec = { node: number } | { data: number } | null;

/** Networks as CIDR strings ("203.0.113.0/24") mapped to their record (e.g. a GeoIP2-City shaped object). */
export function writeMmdb(networks: Record<string, MmdbValue>, databaseType = 'GeoIP2-City'): Buffer {
  const nodes: [Rec, Rec][] = [[null, null]];
  const data: number[] = [];
  for (const [cidr, value] of Object.entries(networks)) {
    const [addr, lenText] = cidr.split('/');
    const len = Number(lenText);
    const ip = addr!.split('.').reduce((a, o) => a * 256 + Number(o), 0);
    const offset = data.length;
    data.push(...encode(value));
    let n = 0;
    for (let i = 0; i < len; i++) {
      const bit = Math.floor(ip / 2 ** (31 - i)) % 2;
      if (i === len - 1) {
        nodes[n]![bit] = { data: offset };
      } else {
        const r = nodes[n]![bit];
        if (r && 'node' in r) n = r.node;
        else {
          nodes.push([null, null]);
          nodes[n]![bit] = { node: nodes.length - 1 };
          n = nodes.length - 1;
        }
      }
    }
  }
  const count = nodes.length;
  const tree = Buffer.alloc(count * 8);
  nodes.forEach(([l, r], i) => {
    const value = (x: Rec) => (x === null ? count : 'node' in x ? x.node : count + 16 + x.data);
    tree.writeUInt32BE(value(l), i * 8);
    tree.writeUInt32BE(value(r), i * 8 + 4);
  });
  const metadata = encode({
    node_count: u32(count),
    record_size: u16(32),
    ip_version: u16(4),
    database_type: databaseType,
    languages: ['en'],
    binary_format_major_version: u16(2),
    binary_format_minor_version: u16(0),
    build_epoch: u64(Math.floor(Date.now() / 1000)),
    description: { en: 'Gatehouse test GeoIP database' },
  });
  return Buffer.concat([
    tree,
    Buffer.alloc(16),
    Buffer.from(data),
    Buffer.from([0xab, 0xcd, 0xef]),
    Buffer.from('MaxMind.com', 'ascii'),
    Buffer.from(metadata),
  ]);
}

/** A GeoIP2-City shaped record. */
export const cityRecord = (city: string, country: string, latitude: number, longitude: number): MmdbValue => ({
  city: { names: { en: city } },
  country: { iso_code: country },
  location: { latitude, longitude, accuracy_radius: u16(20) },
});
