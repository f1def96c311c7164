import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { VERDICTS } from '../detect/applicability.js';

/**
 * The service's Prometheus metrics, kept in a prom-client registry per app
 * (exposition format 0.0.4). Only the process figures the service has always
 * exported are registered, not prom-client's default set: its event-loop
 * monitor costs time on every tick and its names would change the exposition.
 */

/** Latency buckets in seconds: fine below 25 ms, where the service should live. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'copydesk_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'copydesk_http_request_duration_seconds',
    help: 'Time from receiving a request to sending its response.',
    labelNames: ['method', 'route'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly verdicts = new Counter({
    name: 'copydesk_verdicts_total',
    help: 'Verdicts given, by verdict.',
    labelNames: ['verdict'] as const,
    registers: [this.registry],
  });
  private readonly model = new Gauge({
    name: 'copydesk_model_info',
    help: 'The loaded model (value is always 1).',
    labelNames: ['version'] as const,
    registers: [this.registry],
  });

  constructor() {
    // Both verdicts are exported from the start, at 0, so a rate() over them is defined at once.
    for (const verdict of VERDICTS) this.verdicts.inc({ verdict }, 0);
    const started = Math.floor(Date.now() / 1000);
    new Gauge({
      name: 'process_resident_memory_bytes',
      help: 'Resident memory size in bytes.',
      registers: [this.registry],
      collect() {
        this.set(process.memoryUsage.rss());
      },
    });
    new Gauge({
      name: 'nodejs_heap_used_bytes',
      help: 'V8 heap in use, in bytes.',
      registers: [this.registry],
      collect() {
        this.set(process.memoryUsage().heapUsed);
      },
    });
    new Gauge({ name: 'process_start_time_seconds', help: 'Start time of the process since the Unix epoch, in seconds.', registers: [this.registry] }).set(started);
  }

  /** One finished HTTP request. `route` is the route pattern (never the raw URL, to bound label values). */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.requests.inc({ method, route, status: String(status) });
    this.latency.observe({ method, route }, seconds);
  }

  observeVerdict(verdict: string): void {
    this.verdicts.inc({ verdict });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async render(extra: { modelVersion: string }): Promise<string> {
    this.model.reset();
    this.model.set({ version: extra.modelVersion }, 1);
    return this.registry.metrics();
  }
}
