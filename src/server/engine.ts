import { Worker } from 'node:worker_threads';
import { detectText, type DetectionResult, type DetectOptions } from '../detect/detect.js';
import { sentenceCalibration } from '../detect/sentences.js';
import type { Detector } from '../model/detector.js';

/** What the service asks of the detector for every document: sentences always, evidence unless declined. */
export interface EngineOptions {
  evidence: boolean;
}

/**
 * Scores documents for the HTTP service, either on the event loop (inline)
 * or on a pool of worker threads so that several requests score at once and
 * the event loop stays free for I/O.
 */
export interface Engine {
  readonly threads: number;
  detect(texts: readonly string[], options: EngineOptions): Promise<DetectionResult[]>;
  close(): Promise<void>;
}

/**
 * Whether this model file can score sentences: models trained before
 * sentence-level detection have no sentence calibration, and the service then
 * answers with document-level results only (and says so at start-up and in
 * GET /v1/models) rather than failing every request.
 */
export function supportsSentences(detector: Detector): boolean {
  try {
    sentenceCalibration(detector);
    return true;
  } catch {
    return false;
  }
}

const SENTENCES = new WeakMap<Detector, boolean>();

export function detectAll(detector: Detector, texts: readonly string[], options: EngineOptions): DetectionResult[] {
  let sentences = SENTENCES.get(detector);
  if (sentences === undefined) SENTENCES.set(detector, (sentences = supportsSentences(detector)));
  const opts: DetectOptions = { sentences, evidence: options.evidence };
  return texts.map((text) => detectText(detector, text, opts));
}

export class InlineEngine implements Engine {
  readonly threads = 0;
  constructor(private readonly detector: Detector) {}
  async detect(texts: readonly string[], options: EngineOptions): Promise<DetectionResult[]> {
    return detectAll(this.detector, texts, options);
  }
  async close(): Promise<void> {}
}

interface Job {
  resolve: (results: DetectionResult[]) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, Job>;
  /** Has answered once: only a thread that worked is replaced when it dies (a bad model file would loop). */
  ready: boolean;
}

export interface WorkerReply {
  id: number;
  results?: DetectionResult[];
  error?: string;
}

/** A fixed set of scoring threads; each request goes to the thread with the fewest jobs queued. */
export class PoolEngine implements Engine {
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private closing = false;

  private constructor(private readonly modelPath: string, size: number) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  static async start(modelPath: string, size: number): Promise<PoolEngine> {
    const pool = new PoolEngine(modelPath, size);
    // Fail at start-up (bad model file), not on the first request.
    await Promise.all(pool.slots.map((slot) => pool.detectOn(slot, ['ready?'], { evidence: false })));
    return pool;
  }

  get threads(): number {
    return this.slots.length;
  }

  detect(texts: readonly string[], options: EngineOptions): Promise<DetectionResult[]> {
    let best = this.slots[0];
    for (const slot of this.slots) if (slot.jobs.size < best.jobs.size) best = slot;
    return this.detectOn(best, texts, options);
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private detectOn(slot: Slot, texts: readonly string[], options: EngineOptions): Promise<DetectionResult[]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.jobs.set(id, { resolve, reject });
      slot.worker.postMessage({ id, texts, options });
    });
  }

  private spawn(): Slot {
    const worker = spawnWorker(this.modelPath);
    const slot: Slot = { worker, jobs: new Map(), ready: false };
    worker.on('message', (reply: WorkerReply) => {
      const job = slot.jobs.get(reply.id);
      slot.ready = true;
      if (!job) return;
      slot.jobs.delete(reply.id);
      if (reply.results) job.resolve(reply.results);
      else job.reject(new Error(reply.error ?? 'scoring thread failed'));
    });
    const fail = (error: Error) => {
      for (const job of slot.jobs.values()) job.reject(error);
      slot.jobs.clear();
    };
    worker.on('error', (error) => fail(error instanceof Error ? error : new Error(String(error))));
    worker.on('exit', (code) => {
      fail(new Error(`scoring thread exited (code ${code})`));
      if (this.closing || !slot.ready) return;
      // Replace a thread that died (out of memory, a bug) so the service keeps serving.
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots[index] = this.spawn();
    });
    return slot;
  }
}

/**
 * The scoring thread: compiled JavaScript next to this file, or, under tsx
 * (tests, development), a tiny bootstrap that registers tsx's loader inside the
 * thread first (`execArgv: ['--import', 'tsx']` does not reach worker threads
 * on Node 20).
 */
function spawnWorker(modelPath: string): Worker {
  if (import.meta.url.endsWith('.js')) return new Worker(new URL('./detect-worker.js', import.meta.url), { workerData: { modelPath } });
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./detect-worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: { modelPath } });
}
