/**
 * A Redis adapter for node-oidc-provider (the shape of its documented example adapter, ioredis): what the limit
 * process uses with BENCH_OIDC_PROVIDER_ADAPTER=redis, so oidc-provider's grants and refresh tokens live in the same
 * local Redis Gatehouse uses with BENCH_BACKEND=server instead of in its own heap. Every key carries a per-run
 * prefix and `clear()` deletes them all when the process stops.
 */
import { Redis } from 'ioredis';

/** Models whose tokens are consumed (one-time use); they are stored as a hash so `consume` can mark them. */
const CONSUMABLE = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
/** Models revoked together by grant id. */
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

type Payload = Record<string, unknown> & { grantId?: string; userCode?: string; uid?: string };

export function redisAdapter(url: string, prefix: string) {
  const redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  const grantKey = (id: string) => `${prefix}grant:${id}`;

  class RedisAdapter {
    constructor(private readonly name: string) {}

    key(id: string): string {
      return `${prefix}${this.name}:${id}`;
    }

    async upsert(id: string, payload: Payload, expiresIn: number): Promise<void> {
      const key = this.key(id);
      const multi = redis.multi();
      if (CONSUMABLE.has(this.name)) multi.hset(key, { payload: JSON.stringify(payload) });
      else multi.set(key, JSON.stringify(payload));
      if (expiresIn) multi.expire(key, expiresIn);
      if (GRANTABLE.has(this.name) && payload.grantId) {
        const gk = grantKey(payload.grantId);
        multi.rpush(gk, key);
        if (expiresIn) multi.expire(gk, expiresIn, 'GT');
      }
      if (payload.userCode) multi.set(`${prefix}userCode:${payload.userCode}`, id, 'EX', expiresIn);
      if (payload.uid) multi.set(`${prefix}uid:${payload.uid}`, id, 'EX', expiresIn);
      await multi.exec();
    }

    async find(id: string): Promise<Payload | undefined> {
      const key = this.key(id);
      if (CONSUMABLE.has(this.name)) {
        const data = await redis.hgetall(key);
        if (!data.payload) return undefined;
        const { payload, ...rest } = data;
        return { ...rest, ...(JSON.parse(payload) as Payload) };
      }
      const data = await redis.get(key);
      return data ? (JSON.parse(data) as Payload) : undefined;
    }

    async findByUid(uid: string) {
      const id = await redis.get(`${prefix}uid:${uid}`);
      return id ? this.find(id) : undefined;
    }

    async findByUserCode(userCode: string) {
      const id = await redis.get(`${prefix}userCode:${userCode}`);
      return id ? this.find(id) : undefined;
    }

    async destroy(id: string): Promise<void> {
      await redis.del(this.key(id));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      const gk = grantKey(grantId);
      const keys = await redis.lrange(gk, 0, -1);
      await redis.del(...keys, gk);
    }

    async consume(id: string): Promise<void> {
      await redis.hset(this.key(id), 'consumed', Math.floor(Date.now() / 1000));
    }
  }

  return {
    Adapter: RedisAdapter,
    /** Deletes every key of this run. */
    async clear(): Promise<void> {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        if (keys.length) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}
