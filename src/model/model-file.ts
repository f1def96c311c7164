import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UserError } from '../util/errors.js';
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
  // Write then rename, so a crash never leaves a half-written model behind.
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, serializeDetector(detector));
  renameSync(temporary, path);
}

export function loadDetector(path: string = DEFAULT_MODEL_PATH): Detector {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new UserError(`cannot read model file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return deserializeDetector(bytes, path);
}

export function deserializeDetector(bytes: Buffer, path = '<buffer>'): Detector {
  if (bytes.length < PREFIX || !bytes.subarray(0, 8).equals(MAGIC)) {
    throw new UserError(`${path} is not a copydesk model file (wrong magic bytes)`);
  }
  const format = bytes.readUInt32LE(8);
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
  const header = JSON.parse(bytes.subarray(PREFIX, PREFIX + headerLength).toString('utf8')) as StoredHeader;
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

function lengthBytes(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}
