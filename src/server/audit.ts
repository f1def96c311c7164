import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { ResultSummary } from '../detect/result.js';
import { UserError } from '../util/errors.js';

/** One recorded verdict, as `GET /v1/audit` lists it. */
export interface AuditRecord {
  id: number;
  /** When the verdict was given, ISO 8601 UTC with milliseconds. */
  time: string;
  /** SHA-256 of the text as UTF-8, hex. */
  sha256: string;
  /** Length of the text in characters (UTF-16 code units, the unit of sentence offsets). */
  length: number;
  model_version: string;
  machine_probability: number;
  verdict: string;
  /** The text itself, only when the server runs with --store-text; otherwise null. */
  text: string | null;
}

export interface AuditQuery {
  /** Records at or after this instant (ISO 8601). */
  since?: string;
  /** Records with an id greater than this (paging cursor). */
  after?: number;
  limit: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  length INTEGER NOT NULL,
  model_version TEXT NOT NULL,
  machine_probability REAL NOT NULL,
  verdict TEXT NOT NULL,
  text TEXT
);
CREATE INDEX IF NOT EXISTS audit_time ON audit (time);
`;

/**
 * The audit store: every verdict the service gives, in SQLite.
 *
 * WAL with synchronous=NORMAL: a commit survives a crash of this process (the
 * WAL is written before the call returns) and costs no fsync; only a power
 * loss can roll back the last few commits. Writes are group-committed: the
 * verdicts of every request that finishes in the same event-loop turn go into
 * one transaction through a prepared statement, and each request is answered
 * only after its transaction commits, so an answered request is a recorded
 * request (a commit costs ~100 µs; under load it is shared by many requests).
 * busy_timeout lets several server processes share one file.
 */
export class AuditStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly insertMany: (rows: unknown[][]) => void;
  private readonly selectPage: Database.Statement;
  private closed = false;
  private pending: unknown[][] = [];
  private waiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  private scheduled = false;
  /** Set while commits fail (disk full, database locked past the busy timeout …); cleared by the next commit that succeeds. */
  private failure: { since: string; message: string } | null = null;

  constructor(
    readonly file: string,
    readonly storeText = false,
    /** How long a commit waits for another process's lock before it fails (SQLite busy_timeout). */
    busyTimeoutMs = 5000,
  ) {
    let db: Database.Database | undefined;
    try {
      if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      db = new Database(file);
      // SQLite opens lazily: a file that is not a database fails only on its first statement, so that is inside the try too.
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma(`busy_timeout = ${Math.max(0, Math.round(busyTimeoutMs))}`);
      db.exec(SCHEMA);
    } catch (error) {
      db?.close();
      throw new UserError(`cannot open audit database ${file}: ${(error as Error).message}`);
    }
    this.db = db;
    this.insert = this.db.prepare(
      'INSERT INTO audit (time, sha256, length, model_version, machine_probability, verdict, text) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const insert = this.insert;
    this.insertMany = this.db.transaction((rows: unknown[][]) => {
      for (const row of rows) insert.run(row);
    });
    this.selectPage = this.db.prepare(
      'SELECT id, time, sha256, length, model_version, machine_probability, verdict, text FROM audit WHERE time >= ? AND id > ? ORDER BY id LIMIT ?',
    );
  }

  /** Records the verdicts for these texts (same order); resolves once they are committed. */
  record(texts: readonly string[], results: readonly ResultSummary[], time = new Date()): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the audit store is closed'));
    this.pending.push(...this.rows(texts, results, time));
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return done;
  }

  /** Records synchronously, in one transaction of its own. */
  recordNow(texts: readonly string[], results: readonly ResultSummary[], time = new Date()): void {
    this.insertMany(this.rows(texts, results, time));
  }

  /** Commits every queued row in one transaction and settles the requests waiting on them. */
  flush(): void {
    this.scheduled = false;
    const rows = this.pending;
    const waiters = this.waiters;
    this.pending = [];
    this.waiters = [];
    if (rows.length === 0) return;
    try {
      if (rows.length === 1) this.insert.run(rows[0]);
      else this.insertMany(rows);
    } catch (error) {
      this.failure ??= { since: new Date().toISOString(), message: (error as Error).message };
      for (const w of waiters) w.reject(error as Error);
      return;
    }
    this.failure = null;
    for (const w of waiters) w.resolve();
  }

  /** Whether the last commit failed, since when and why (what /healthz reports). */
  get failing(): { since: string; message: string } | null {
    return this.failure;
  }

  private rows(texts: readonly string[], results: readonly ResultSummary[], time: Date): unknown[][] {
    const iso = time.toISOString();
    return texts.map((text, i) => [
      iso,
      results[i].sha256,
      text.length,
      results[i].model_version,
      results[i].machine_probability,
      results[i].verdict,
      this.storeText ? text : null,
    ]);
  }

  /** Records in id (= time) order: at or after `since`, after the cursor `after`, at most `limit`. */
  list(query: AuditQuery): AuditRecord[] {
    const since = query.since === undefined ? '' : storedTime(query.since);
    if (since === null) return [];
    return this.selectPage.all(since, query.after ?? 0, query.limit) as AuditRecord[];
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.db.close();
  }
}

/** The last instant a stored time (ISO 8601, four-digit year) can hold. */
const LAST_STORED = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * An RFC 3339 date-time as stored times are written (toISOString), to compare
 * with them as text; null when it is later than any stored time can be (an
 * offset can carry 9999-12-31 into year 10000, which toISOString writes as
 * "+010000-…", a string that sorts before every record). A leap second
 * (…:60, valid RFC 3339 that Date cannot parse) is the instant after …:59.
 */
function storedTime(dateTime: string): string | null {
  let ms = Date.parse(dateTime);
  if (Number.isNaN(ms)) ms = Date.parse(dateTime.replace(/:60(?=[.zZ+-])/, ':59')) + 1000;
  if (Number.isNaN(ms)) throw new RangeError(`not a date-time: ${dateTime}`);
  return ms > LAST_STORED ? null : new Date(ms).toISOString();
}
