/**
 * Weights stored as int16 × scale, base64 little-endian: half the bytes of
 * float32 and, for a hashed linear model, no measurable loss (the window
 * model and the news-domain gate are calibrated on the quantised weights).
 */
export interface QuantisedWeights {
  /** weight = int16 value × scale */
  scale: number;
  /** Base64 of the int16 weights, little-endian. */
  weights: string;
}

export function quantiseInt16(weights: ArrayLike<number>): QuantisedWeights {
  let max = 0;
  for (let i = 0; i < weights.length; i++) max = Math.max(max, Math.abs(weights[i]));
  const scale = max > 0 ? max / 32767 : 1;
  const bytes = Buffer.alloc(2 * weights.length);
  for (let i = 0; i < weights.length; i++) bytes.writeInt16LE(Math.round(weights[i] / scale), 2 * i);
  return { scale, weights: bytes.toString('base64') };
}

/** The int16 values (not yet scaled), or null when the base64 does not hold exactly `count` of them. */
export function decodeInt16(base64: string, count: number): Int16Array | null {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length !== 2 * count) return null;
  const out = new Int16Array(count);
  if (LITTLE_ENDIAN) out.set(new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)));
  else for (let i = 0; i < count; i++) out[i] = bytes.readInt16LE(2 * i);
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
