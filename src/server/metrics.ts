/**
 * Prometheus metrics in the text exposition format (version 0.0.4), written by
 * hand: the service needs three counters and one histogram, no metrics
 * library is installed, and the format is a few lines of text
 * (https://prometheus.io/docs/instrumenting/exposition_formats/).
 */

/** Latency buckets in seconds: fine below 25 ms, where the service should live. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Histogram {
  counts: number[]; // per bucket, not cumulative; last slot is +Inf
  sum: number;
  count: number;
}

export class Metrics {
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  private readonly verdicts = new Map<string, number>();
  private readonly documents = { value: 0 };
  private readonly started = Date.now();

  /** One finished HTTP request. `route` is the route pattern (never the raw URL, to bound label values). */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const key = labels({ method, route, status: String(status) });
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const hkey = labels({ method, route });
    let h = this.latency.get(hkey);
    if (!h) {
      h = { counts: new Array(LATENCY_BUCKETS.length + 1).fill(0), sum: 0, count: 0 };
      this.latency.set(hkey, h);
    }
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]) i++;
    h.counts[i]++;
    h.sum += seconds;
    h.count++;
  }

  observeVerdict(verdict: string): void {
    this.verdicts.set(verdict, (this.verdicts.get(verdict) ?? 0) + 1);
    this.documents.value++;
  }

  render(extra: { modelVersion: string }): string {
    const out: string[] = [];
    out.push('# HELP copydesk_http_requests_total HTTP requests answered, by method, route pattern and status code.');
    out.push('# TYPE copydesk_http_requests_total counter');
    for (const [key, n] of this.requests) out.push(`copydesk_http_requests_total{${key}} ${n}`);

    out.push('# HELP copydesk_http_request_duration_seconds Time from receiving a request to sending its response.');
    out.push('# TYPE copydesk_http_request_duration_seconds histogram');
    for (const [key, h] of this.latency) {
      let cumulative = 0;
      LATENCY_BUCKETS.forEach((le, i) => {
        cumulative += h.counts[i];
        out.push(`copydesk_http_request_duration_seconds_bucket{${key},le="${le}"} ${cumulative}`);
      });
      cumulative += h.counts[LATENCY_BUCKETS.length];
      out.push(`copydesk_http_request_duration_seconds_bucket{${key},le="+Inf"} ${cumulative}`);
      out.push(`copydesk_http_request_duration_seconds_sum{${key}} ${h.sum}`);
      out.push(`copydesk_http_request_duration_seconds_count{${key}} ${h.count}`);
    }

    out.push('# HELP copydesk_verdicts_total Verdicts given, by verdict.');
    out.push('# TYPE copydesk_verdicts_total counter');
    for (const verdict of ['human', 'machine']) {
      out.push(`copydesk_verdicts_total{verdict="${verdict}"} ${this.verdicts.get(verdict) ?? 0}`);
    }
    for (const [verdict, n] of this.verdicts) {
      if (verdict !== 'human' && verdict !== 'machine') out.push(`copydesk_verdicts_total{${labels({ verdict })}} ${n}`);
    }

    out.push('# HELP copydesk_model_info The loaded model (value is always 1).');
    out.push('# TYPE copydesk_model_info gauge');
    out.push(`copydesk_model_info{${labels({ version: extra.modelVersion })}} 1`);

    const memory = process.memoryUsage();
    out.push('# HELP process_resident_memory_bytes Resident memory size in bytes.');
    out.push('# TYPE process_resident_memory_bytes gauge');
    out.push(`process_resident_memory_bytes ${memory.rss}`);
    out.push('# HELP nodejs_heap_used_bytes V8 heap in use, in bytes.');
    out.push('# TYPE nodejs_heap_used_bytes gauge');
    out.push(`nodejs_heap_used_bytes ${memory.heapUsed}`);
    out.push('# HELP process_start_time_seconds Start time of the process since the Unix epoch, in seconds.');
    out.push('# TYPE process_start_time_seconds gauge');
    out.push(`process_start_time_seconds ${Math.floor(this.started / 1000)}`);
    return `${out.join('\n')}\n`;
  }
}

/** `a="x",b="y"` with label values escaped as the format requires. */
function labels(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');
}
