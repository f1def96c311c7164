import { promises as fs, realpathSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { UserError } from '../util/errors.js';

export type InputFormat = 'jsonl' | 'csv' | 'parquet';

/** The path that means "read JSON Lines from standard input". */
export const STDIN_PATH = '-';

const FORMAT_BY_EXTENSION: Record<string, InputFormat> = {
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json-lines': 'jsonl',
  '.csv': 'csv',
  '.parquet': 'parquet',
};

export function formatFromExtension(file: string): InputFormat | undefined {
  return FORMAT_BY_EXTENSION[path.extname(file).toLowerCase()];
}

/**
 * The format of a file: by extension, else by its first bytes (Parquet
 * starts with `PAR1`, JSON Lines with `{`, anything else is taken as CSV).
 */
export async function detectFormat(file: string): Promise<InputFormat> {
  if (file === STDIN_PATH) return 'jsonl';
  const byExtension = formatFromExtension(file);
  if (byExtension) return byExtension;
  const head = await readHead(file, 256);
  if (head.subarray(0, 4).toString('latin1') === 'PAR1') return 'parquet';
  const text = head.toString('utf8').replace(/^\uFEFF/, '').trimStart();
  return text.startsWith('{') ? 'jsonl' : 'csv';
}

async function readHead(file: string, bytes: number): Promise<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** File stem used as the dataset name: `data/pan24_news.jsonl` → `pan24_news`. */
export function datasetName(file: string): string {
  if (file === STDIN_PATH) return 'stdin';
  const base = path.basename(file);
  const extension = path.extname(base);
  return extension ? base.slice(0, -extension.length) : base;
}

/**
 * Expands files, directories (recursively) and globs into a sorted,
 * de-duplicated list of files. Directories and globs only yield files
 * with a supported extension, so a README or stray file beside the data
 * never gets parsed; a file named explicitly is read whatever its name.
 */
export async function resolveInputs(inputs: string[]): Promise<string[]> {
  const resolved: string[] = [];
  for (const input of inputs) resolved.push(...(await resolveInput(input)));
  // One file under two names (./a.jsonl and a.jsonl, a link, a directory and a file in it) is read once, under the first.
  const seen = new Set<string>();
  const unique: string[] = [];
  for (const file of resolved) {
    const identity = file === STDIN_PATH ? file : await fileIdentity(file);
    if (seen.has(identity)) continue;
    seen.add(identity);
    unique.push(file);
  }
  return unique;
}

/** Device and inode, the same for every name of one file; the path itself when it cannot be read (the reader says why). */
async function fileIdentity(file: string): Promise<string> {
  const stats = await fs.stat(file).catch(() => undefined);
  return stats === undefined ? `path:${file}` : `${stats.dev}:${stats.ino}`;
}

async function resolveInput(input: string): Promise<string[]> {
  if (input === STDIN_PATH) return [STDIN_PATH];
  if (isGlob(input)) return nonEmpty(input, await expandGlob(input));
  const stats = await fs.stat(input).catch(() => undefined);
  if (!stats) throw new UserError(`no such file or directory: ${input}`);
  if (stats.isDirectory()) {
    const unreadable: string[] = [];
    const files = await listDataFiles(input, new Set(), unreadable);
    noteUnreadable(unreadable);
    return nonEmpty(input, onePerStem(files));
  }
  return [input];
}

/**
 * Whether `resolveInputs([input])` would list `file` (an absolute path with
 * links resolved) if it existed: the file itself, a data file below an input
 * directory, or a data file an input glob matches. Used to refuse outputs
 * that a command (or its rerun) would read back as input.
 */
export function inputWouldInclude(input: string, file: string): boolean {
  if (input === STDIN_PATH) return false;
  if (isGlob(input)) {
    const segments = input.split(/[\\/]/);
    const firstGlob = segments.findIndex((segment) => isGlob(segment));
    const base = realOrUndefined(segments.slice(0, firstGlob).join('/') || (input.startsWith('/') ? '/' : '.'));
    if (base === undefined) return false;
    const relative = belowDirectory(base, file);
    return relative !== undefined && isDataFile(path.basename(file)) && globToRegExp(segments.slice(firstGlob)).test(relative);
  }
  const real = realOrUndefined(input);
  if (real === undefined) return false;
  if (!statSync(real).isDirectory()) return real === file;
  return belowDirectory(real, file) !== undefined && isDataFile(path.basename(file));
}

/** `file` relative to `dir` ('/'-separated) when it lies below it outside dot-directories. */
function belowDirectory(dir: string, file: string): string | undefined {
  const relative = path.relative(dir, file);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
  const parts = relative.split(path.sep);
  return parts.slice(0, -1).some(isHidden) ? undefined : parts.join('/');
}

function realOrUndefined(file: string): string | undefined {
  try {
    return realpathSync(file);
  } catch {
    return undefined;
  }
}

function nonEmpty(input: string, files: string[]): string[] {
  if (files.length === 0) {
    const extensions = Object.keys(FORMAT_BY_EXTENSION).join(', ');
    throw new UserError(`no data files (${extensions}) found for: ${input}`);
  }
  return files;
}

function isGlob(input: string): boolean {
  return /[*?]/.test(input);
}

function isDataFile(name: string): boolean {
  return !isHidden(name) && !/^readme/i.test(name) && formatFromExtension(name) !== undefined;
}

function isHidden(name: string): boolean {
  return name.startsWith('.');
}

/**
 * Every data file below `dir`, sorted, skipping dot-directories. A symbolic
 * link counts as what it points to (a Hugging Face cache snapshot is links
 * into its blobs); a directory reached twice, through links, is read once.
 */
async function listDataFiles(dir: string, visited = new Set<string>(), unreadable: string[] = []): Promise<string[]> {
  const real = await fs.realpath(dir);
  if (visited.has(real)) return [];
  visited.add(real);
  const found: string[] = [];
  const entries = await fs.readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    const kind = entry.isSymbolicLink() ? await linkTarget(full, entry.name) : entry;
    if (kind?.isDirectory() && !isHidden(entry.name)) found.push(...(await listDataFiles(full, visited, unreadable)));
    else if (kind?.isFile() && isDataFile(entry.name)) found.push(full);
    else if (kind?.isFile() && looksLikeData(entry.name)) unreadable.push(full);
  }
  return found;
}

/**
 * Names that look like data in a format copydesk does not read: a JSON
 * array, TSV, plain text, compressed JSON lines or CSV, Arrow, a spreadsheet.
 * A directory or glob leaves them out; noteUnreadable says so, so that their
 * rows do not vanish without a word.
 */
const DATA_LIKE = /\.(?:json|tsv|txt|arrow|feather|avro|orc|xlsx?)$|\.(?:jsonl|ndjson|json|csv|tsv|parquet|txt)\.(?:gz|bz2|xz|zst|zip)$/i;

function looksLikeData(name: string): boolean {
  return !isHidden(name) && !/^(?:readme|license|licence|notice|changelog)/i.test(name) && DATA_LIKE.test(name);
}

const notedUnreadable = new Set<string>();

/** One note for the data-like files a directory or glob input passed over (up to five named), each said once however often inputs are resolved. */
function noteUnreadable(found: string[]): void {
  const files = found.filter((file) => !notedUnreadable.has(file));
  if (files.length === 0) return;
  for (const file of files) notedUnreadable.add(file);
  const named = files.slice(0, 5).join(', ') + (files.length > 5 ? ` and ${files.length - 5} more` : '');
  const readable = Object.keys(FORMAT_BY_EXTENSION).join(', ');
  process.stderr.write(
    `copydesk: note: not reading ${files.length} file${files.length === 1 ? '' : 's'} in a format copydesk does not read (it reads ${readable}): ${named}; convert ${files.length === 1 ? 'it' : 'them'} to JSON lines, CSV or Parquet to include ${files.length === 1 ? 'it' : 'them'}\n`,
  );
}

/** What a link points to; a data file's link that points nowhere is an error, not a file quietly left out. */
async function linkTarget(link: string, name: string): Promise<Stats | undefined> {
  const stats = await fs.stat(link).catch(() => undefined);
  if (stats === undefined && isDataFile(name)) throw new UserError(`${link}: a symbolic link to nothing (its target is missing)`);
  return stats;
}

const FORMAT_PREFERENCE: InputFormat[] = ['jsonl', 'parquet', 'csv'];

/**
 * `x.jsonl` beside `x.parquet` is one dataset in two formats (the shared
 * data ships cnn_dailymail_chatgpt both ways); reading both would count
 * every document twice, so a directory or glob keeps one file per stem.
 */
function onePerStem(files: string[]): string[] {
  const best = new Map<string, string>();
  const rank = (file: string) => FORMAT_PREFERENCE.indexOf(formatFromExtension(file)!);
  for (const file of files) {
    const key = path.join(path.dirname(file), datasetName(file));
    const current = best.get(key);
    if (current === undefined || rank(file) < rank(current)) best.set(key, file);
  }
  const kept = new Set(best.values());
  for (const file of files) {
    if (!kept.has(file)) noteSkippedTwin(file, best.get(path.join(path.dirname(file), datasetName(file)))!);
  }
  return files.filter((file) => kept.has(file));
}

const notedTwins = new Set<string>();

/**
 * A file left out for its twin is said once on stderr: if the two do not hold
 * the same rows, its rows would otherwise vanish without a word.
 */
function noteSkippedTwin(skipped: string, kept: string): void {
  if (notedTwins.has(skipped)) return;
  notedTwins.add(skipped);
  process.stderr.write(
    `copydesk: note: not reading ${skipped}: ${path.basename(kept)} beside it has the same name, taken as the same dataset in another format; name ${path.basename(skipped)} explicitly to read it too\n`,
  );
}

/*
 * Globs: fs.promises.glob only arrived in Node 22 and no installed
 * dependency offers one, so this is a minimal matcher for `*`, `?` and `**`
 * (enough for `data/train-*.parquet` or `corpora/**\/*.jsonl`). The static
 * prefix of the pattern is walked and every data file below it is tested
 * against the rest.
 */
async function expandGlob(pattern: string): Promise<string[]> {
  const segments = pattern.split(/[\\/]/);
  const firstGlob = segments.findIndex((segment) => isGlob(segment));
  const baseSegments = segments.slice(0, firstGlob);
  const base = baseSegments.length === 0 ? '.' : baseSegments.join('/') || '/';
  const stats = await fs.stat(base).catch(() => undefined);
  if (!stats?.isDirectory()) return [];
  const matcher = globToRegExp(segments.slice(firstGlob));
  const matches = (file: string) => matcher.test(path.relative(base, file).split(path.sep).join('/'));
  const unreadable: string[] = [];
  const files = await listDataFiles(base, new Set(), unreadable);
  noteUnreadable(unreadable.filter(matches));
  return onePerStem(files.filter(matches));
}

/** Turns glob segments into a RegExp over '/'-separated relative paths. */
export function globToRegExp(segments: string[]): RegExp {
  const parts = segments.map((segment, index) => {
    if (segment !== '**') return segmentToRegExp(segment) + '/';
    // A trailing `**` matches any file below; elsewhere zero or more directories.
    return index === segments.length - 1 ? '.*' : '(?:[^/]+/)*';
  });
  // Every segment source ends with '/', the path does not: drop the last one.
  const source = parts.join('').replace(/\/$/, '');
  return new RegExp(`^${source}$`);
}

function segmentToRegExp(segment: string): string {
  let source = '';
  for (const char of segment) {
    if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return source;
}
