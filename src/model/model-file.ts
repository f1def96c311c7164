import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ioErrorToUserError, ioReason, UserError } from '../util/errors.js';
import { COPYDESK_VERSION } from '../version.js';
import { Detector, type DetectorMetadata } from './detector.js';

/**
 * The model file: one binary file a detector round-trips through.
 *
 *   bytes 0..7    magic "CPYDESK\n"
 *   bytes 8..11   format version (uint32 LE)
 *   bytes 12..43  SHA-256 of everything from byte 44 to the end
 *   bytes 44..47  header length H (uint32 LE)
 *   bytes 48..    header: UTF-8 JSON (DetectorMetadata + bias + weight count)
 *   then          weights as float32 LE
 *
 * Binary rather than JSON so a half-million weights load in milliseconds;
 * the checksum turns truncation and corruption into a clear message.
 */
export const MODEL_FORMAT_VERSION = 1;
const MAGIC = Buffer.from('CPYDESK\n', 'latin1');
const PREFIX = 48;

export const DEFAULT_MODEL_PATH = fileURLToPath(new URL('../../models/default.cdm', import.meta.url));

interface StoredHeader {
  metadata: DetectorMetadata;
  bias: number;
  weight_count: number;
}

export function serializeDetector(detector: Detector): Buffer {
  const header: StoredHeader = {
    metadata: { ...detector.metadata, format_version: MODEL_FORMAT_VERSION },
    bias: detector.model.bias,
    weight_count: detector.model.weights.length,
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const weights = detector.model.weights;
  const weightBytes = Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength);
  const body = Buffer.concat([lengthBytes(headerBytes.length), headerBytes, weightBytes]);
  const version = Buffer.alloc(4);
  version.writeUInt32LE(MODEL_FORMAT_VERSION);
  const checksum = createHash('sha256').update(body).digest();
  return Buffer.concat([MAGIC, version, checksum, body]);
}

export function saveDetector(detector: Detector, path: string): void {
  // Write then rename, so a crash never leaves a half-written model behind. Renaming
  // onto a device or pipe (--out /dev/null) would replace it, so those are refused;
  // a symbolic link is followed (renaming onto it would replace the link, not its file).
  const target = existsSync(path) ? realpathSync(path) : path;
  const temporary = `${target}.tmp-${process.pid}`;
  try {
    const existing = statSync(target, { throwIfNoEntry: false });
    if (existing && !existing.isFile() && !existing.isDirectory()) {
      throw new UserError(`cannot write ${path}: it is not a regular file; a model file must go to a regular file`);
    }
    writeFileSync(temporary, serializeDetector(detector));
    renameSync(temporary, target);
  } catch (error) {
    // Neither a stray temporary file nor its name in the message: the model was to go to `path`.
    try {
      rmSync(temporary, { force: true });
    } catch {
      // Nothing to clean up, or nothing we may remove: the error below is what matters.
    }
    const user = ioErrorToUserError({ ...(error as object), path }, path);
    throw user ?? error;
  }
}

export function loadDetector(path: string = DEFAULT_MODEL_PATH): Detector {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new UserError(`cannot read model file ${path}: ${ioReason(error)}`);
  }
  return deserializeDetector(bytes, path);
}

export function deserializeDetector(bytes: Buffer, path = '<buffer>'): Detector {
  if (bytes.length < PREFIX || !bytes.subarray(0, 8).equals(MAGIC)) {
    throw new UserError(`${path} is not a copydesk model file (wrong magic bytes)`);
  }
  const format = bytes.readUInt32LE(8);
  // The format number sits outside the checksum: 0 was never written, so it means damage.
  if (format < 1) throw new UserError(`${path} is corrupted (model format ${format} does not exist); re-download or retrain it`);
  if (format > MODEL_FORMAT_VERSION) {
    throw new UserError(
      `${path} uses model format ${format}, newer than this copydesk ${COPYDESK_VERSION} reads (≤ ${MODEL_FORMAT_VERSION}); upgrade copydesk`,
    );
  }
  const body = bytes.subarray(44);
  const expected = bytes.subarray(12, 44);
  if (!createHash('sha256').update(body).digest().equals(expected)) {
    throw new UserError(`${path} is truncated or corrupted (checksum mismatch); re-download or retrain it`);
  }
  const headerLength = bytes.readUInt32LE(44);
  const header = parseHeader(bytes.subarray(PREFIX, PREFIX + headerLength));
  const weightStart = PREFIX + headerLength;
  if (bytes.length - weightStart !== header.weight_count * 4) {
    throw new UserError(`${path} is truncated: expected ${header.weight_count} weights`);
  }
  // Copy into an aligned buffer: Float32Array views need 4-byte alignment.
  const weights = new Float32Array(header.weight_count);
  Buffer.from(weights.buffer).set(bytes.subarray(weightStart));
  const version = `${header.metadata.copydesk_version}/${expected.toString('hex').slice(0, 12)}`;
  return new Detector({ weights, bias: header.bias }, header.metadata, version);
}

/**
 * The header, with each of `metadata.extensions` parsed when first read.
 * Measured (issue 10): the extensions are 1.9 MB of the 1.95 MB header —
 * the sentence tables alone 1.6 MB, read only with --sentences — and
 * decoding and parsing them were most of a model load (each scoring thread
 * loads the model). A scan for JSON's structural characters (~2 ms) finds
 * each extension's JSON; the rest is parsed at once. A header whose
 * extensions cannot be found this way is parsed whole.
 */
export function parseHeader(bytes: Uint8Array): StoredHeader {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Latin-1, one character per byte, so positions are byte offsets: JSON's structural characters are
  // ASCII and never occur inside a multi-byte UTF-8 sequence, so they are found at the same places.
  const spans = extensionSpans(buffer.toString('latin1'));
  if (!spans) return JSON.parse(buffer.toString('utf8')) as StoredHeader;
  const header = JSON.parse(`${buffer.toString('utf8', 0, spans.start)}{}${buffer.toString('utf8', spans.end)}`) as StoredHeader;
  const extensions = header.metadata.extensions;
  // A copy of the extensions' bytes only, so the model file's buffer can be collected.
  const kept = Buffer.from(buffer.subarray(spans.start, spans.end));
  for (const [name, from, to] of spans.members) {
    const define = (value: unknown) => Object.defineProperty(extensions, name, { value, enumerable: true, configurable: true, writable: true });
    Object.defineProperty(extensions, name, {
      enumerable: true,
      configurable: true,
      get: () => define(JSON.parse(kept.toString('utf8', from - spans.start, to - spans.start)))[name],
      set: define,
    });
  }
  return header;
}

/**
 * Where `metadata.extensions` lies in the header ([start, end)) and each
 * extension's name and value span; null when the header does not have that
 * shape. Values are delimited, not checked: JSON.parse checks each when it
 * is read.
 */
function extensionSpans(text: string): { start: number; end: number; members: Array<[name: string, from: number, to: number]> } | null {
  try {
    const metadata = objectMembers(text, skipSpace(text, 0)).find(([name]) => name === 'metadata');
    const extensions = metadata && objectMembers(text, metadata[1]).find(([name]) => name === 'extensions');
    if (!extensions || text.charCodeAt(extensions[1]) !== 123) return null;
    return { start: extensions[1], end: extensions[2], members: objectMembers(text, extensions[1]) };
  } catch {
    return null;
  }
}

/** The members of the object at `at`: name and value span. Throws on anything but an object. */
function objectMembers(text: string, at: number): Array<[name: string, from: number, to: number]> {
  if (text.charCodeAt(at) !== 123) throw new SyntaxError('not an object');
  const members: Array<[string, number, number]> = [];
  let i = skipSpace(text, at + 1);
  if (text.charCodeAt(i) === 125) return members;
  for (;;) {
    if (text.charCodeAt(i) !== 34) throw new SyntaxError('expected a name');
    const nameEnd = stringEnd(text, i);
    const name = JSON.parse(Buffer.from(text.slice(i, nameEnd), 'latin1').toString('utf8')) as string;
    i = skipSpace(text, nameEnd);
    if (text.charCodeAt(i) !== 58) throw new SyntaxError('expected :');
    const from = skipSpace(text, i + 1);
    const to = valueEnd(text, from);
    members.push([name, from, to]);
    i = skipSpace(text, to);
    if (text.charCodeAt(i) === 125) return members;
    if (text.charCodeAt(i) !== 44) throw new SyntaxError('expected , or }');
    i = skipSpace(text, i + 1);
  }
}

const SPACE = /[^ \t\n\r]/g;
const STRUCTURE = /["{}[\]]/g;

function skipSpace(text: string, i: number): number {
  SPACE.lastIndex = i;
  return SPACE.test(text) ? SPACE.lastIndex - 1 : text.length;
}

/** The end of the string whose opening quote is at `at`. */
function stringEnd(text: string, at: number): number {
  for (let i = text.indexOf('"', at + 1); i !== -1; i = text.indexOf('"', i + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(i - 1 - backslashes) === 92) backslashes++;
    if (backslashes % 2 === 0) return i + 1;
  }
  throw new SyntaxError('unterminated string');
}

/** The end of the JSON value at `at`. */
function valueEnd(text: string, at: number): number {
  const c = text.charCodeAt(at);
  if (c === 34) return stringEnd(text, at);
  if (c !== 123 && c !== 91) {
    // A number, true, false or null.
    let i = at;
    while (i < text.length && ',}] \t\n\r'.indexOf(text[i]) === -1) i++;
    if (i === at) throw new SyntaxError('expected a value');
    return i;
  }
  let depth = 0;
  STRUCTURE.lastIndex = at;
  while (STRUCTURE.test(text)) {
    const i = STRUCTURE.lastIndex - 1;
    const d = text.charCodeAt(i);
    if (d === 34) STRUCTURE.lastIndex = stringEnd(text, i);
    else if (d === 123 || d === 91) depth++;
    else if (--depth === 0) return i + 1;
  }
  throw new SyntaxError('unterminated value');
}

function lengthBytes(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}
