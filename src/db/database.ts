/** What every storage backend offers: the same SQL runs on PGlite and PostgreSQL. */
export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
  /** Runs one or more statements without parameters (simple protocol, one round trip). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /**
   * Runs fn in a transaction. `preamble` (parameter-free SQL) is sent together with BEGIN, so binding a
   * transaction to a tenant costs no extra round trip.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>, preamble?: string): Promise<T>;
  /**
   * Sends several parameter-free statements in one simple-protocol round trip. They run as one implicit
   * transaction: all commit, or an error rolls all back. Returns each statement's result in order.
   */
  batch(sql: string): Promise<QueryResult<Record<string, unknown>>[]>;
  close(): Promise<void>;
}
