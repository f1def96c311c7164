import cliProgress from 'cli-progress';

/**
 * Progress for long jobs: a bar with rate and ETA on a TTY, a periodic
 * plain line otherwise (CI logs, pipes). Always written to stderr so stdout
 * stays machine-readable.
 */
export interface Progress {
  /** Advance by `n` units (default 1). */
  tick(n?: number): void;
  /** Set the absolute amount done. */
  update(value: number): void;
  /** Change the expected total once it is known. */
  setTotal(total: number): void;
  /** Finish and print a final line. */
  stop(message?: string): void;
}

export interface ProgressOptions {
  label: string;
  total?: number;
  unit?: string;
  /** Force a mode; default: bar when stderr is a TTY. */
  tty?: boolean;
  /** Seconds between plain lines (non-TTY). */
  intervalSeconds?: number;
  /** Suppress all output (library use, tests). */
  silent?: boolean;
  stream?: NodeJS.WritableStream;
}

export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  if (options.silent) return { tick() {}, update() {}, setTotal() {}, stop() {} };
  const tty = options.tty ?? Boolean((stream as NodeJS.WriteStream).isTTY);
  return tty ? barProgress(options, stream) : lineProgress(options, stream);
}

function barProgress(options: ProgressOptions, stream: NodeJS.WritableStream): Progress {
  const unit = options.unit ?? 'items';
  const bar = new cliProgress.SingleBar(
    {
      stream: stream as NodeJS.WritableStream & NodeJS.WriteStream,
      format: `${options.label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let value = 0;
  let total = options.total ?? 0;
  bar.start(total, 0, { rate: '0' });
  const progress: Progress = {
    tick(n = 1) {
      progress.update(value + n);
    },
    update(v) {
      value = v;
      if (value > total) {
        total = value;
        bar.setTotal(total);
      }
      bar.update(value, { rate: rate(value, started) });
    },
    setTotal(t) {
      total = t;
      bar.setTotal(t);
    },
    stop(message) {
      bar.update(value, { rate: rate(value, started) });
      bar.stop();
      if (message) stream.write(`${message}\n`);
    },
  };
  return progress;
}

function lineProgress(options: ProgressOptions, stream: NodeJS.WritableStream): Progress {
  const unit = options.unit ?? 'items';
  const intervalMs = (options.intervalSeconds ?? 5) * 1000;
  const started = Date.now();
  let last = started;
  let value = 0;
  let total = options.total;
  const line = () => {
    const pct = total ? ` (${((100 * value) / total).toFixed(1)}%)` : '';
    const of = total ? `/${total}` : '';
    return `${options.label}: ${value}${of} ${unit}${pct}, ${rate(value, started)}/s`;
  };
  const progress: Progress = {
    tick(n = 1) {
      progress.update(value + n);
    },
    update(v) {
      value = v;
      const now = Date.now();
      if (now - last >= intervalMs) {
        last = now;
        stream.write(`${line()}\n`);
      }
    },
    setTotal(t) {
      total = t;
    },
    stop(message) {
      stream.write(`${line()}, done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      if (message) stream.write(`${message}\n`);
    },
  };
  return progress;
}

function rate(value: number, started: number): string {
  const seconds = Math.max((Date.now() - started) / 1000, 1e-3);
  return formatRate(value / seconds);
}

/** Units per second for people: whole above 100, one decimal above 10, two significant digits below. */
export function formatRate(r: number): string {
  // Two significant digits below 10: slow units (model fits) would otherwise read "0.0/s".
  return r >= 100 ? Math.round(r).toString() : r >= 10 ? r.toFixed(1) : r.toPrecision(2);
}

/**
 * Progress whose caller composes the status itself (batch: rows against
 * bytes, an ETA only when it means something): `show` takes the text and,
 * when known, the part done. A bar on a TTY only when the part done is known
 * (`fraction: true`), a periodic plain line otherwise.
 */
export interface StatusProgress {
  show(status: { text: string; fraction?: number }): void;
  stop(message?: string): void;
}

export function createStatusProgress(options: Omit<ProgressOptions, 'total' | 'unit'> & { fraction: boolean }): StatusProgress {
  const stream = options.stream ?? process.stderr;
  if (options.silent) return { show() {}, stop() {} };
  const tty = options.tty ?? Boolean((stream as NodeJS.WriteStream).isTTY);
  let last = { text: '', fraction: undefined as number | undefined };
  if (tty) {
    const bar = new cliProgress.SingleBar(
      {
        stream: stream as NodeJS.WritableStream & NodeJS.WriteStream,
        format: options.fraction ? `${options.label} [{bar}] {text}` : `${options.label}: {text}`,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(1000, 0, { text: '' });
    return {
      show(status) {
        last = { text: status.text, fraction: status.fraction };
        bar.update(Math.round(1000 * (status.fraction ?? 0)), { text: status.text });
      },
      stop(message) {
        bar.stop();
        if (message) stream.write(`${message}\n`);
      },
    };
  }
  const intervalMs = (options.intervalSeconds ?? 5) * 1000;
  let lastLine = Date.now();
  return {
    show(status) {
      last = { text: status.text, fraction: status.fraction };
      if (Date.now() - lastLine >= intervalMs) {
        lastLine = Date.now();
        stream.write(`${options.label}: ${status.text}\n`);
      }
    },
    stop(message) {
      if (last.text !== '') stream.write(`${options.label}: ${last.text}\n`);
      if (message) stream.write(`${message}\n`);
    },
  };
}
