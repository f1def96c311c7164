/**
 * Outputs that must not be used as machine-written news without a look:
 * - `refusal`: the model declined ("I'm sorry, but I can't…", "As an AI language model…",
 *   or OpenAI's structured `refusal`);
 * - `empty`: no letters or digits at all (and no finish reason below to explain it);
 * - `truncated`: finish_reason `length` (hit max_tokens, the article stops mid-way);
 * - `content-filter`: finish_reason `content_filter`.
 */
export type FlagReason = 'refusal' | 'empty' | 'truncated' | 'content-filter';

const APOS = `['\u2019]`;
/** Openings that mean the model declined; tested against the first sentence or so. */
const REFUSAL_OPENINGS: RegExp[] = [
  new RegExp(`^(?:i${APOS}m|i am)\\s+(?:so\\s+|very\\s+|really\\s+)?(?:sorry|afraid|unable|not able|not comfortable)\\b`, 'i'),
  new RegExp(`^(?:sorry|apologies|unfortunately)\\b[^.!?\\n]{0,40}\\b(?:i|we)\\s+(?:can${APOS}?t|cannot|can not|won${APOS}t|will not|am unable|${APOS}m unable|am not able|${APOS}m not able)`, 'i'),
  /^i\s+apologi[sz]e\b/i,
  new RegExp(
    `^i\\s+(?:(?:can${APOS}?t|cannot|can not|won${APOS}t|will not|am unable to|am not able to)\\s+(?:help|assist|comply|fulfil|write|create|generate|provide|produce|continue|rewrite|complete|do that)|must decline)`,
    'i',
  ),
  /^as an ai\b/i,
  /^as a (?:large )?language model\b/i,
];
/** Phrases that give a refusal away anywhere near the start. */
const REFUSAL_ANYWHERE = [
  /\bas an ai(?: language)? model\b/i,
  /\bi(?:'|\u2019)?m (?:just )?an ai\b/i,
  new RegExp(`\\bi (?:can${APOS}?t|cannot) (?:help|assist|comply|fulfil+|write|create|generate|provide) (?:with )?(?:that|this)\\b`, 'i'),
];

export function isRefusal(text: string): boolean {
  const start = text.trim().replace(/^["'\u201c\u2018*_#\s]+/, '').slice(0, 300);
  if (REFUSAL_OPENINGS.some((re) => re.test(start))) return true;
  return REFUSAL_ANYWHERE.some((re) => re.test(start));
}

export function flagOutput(text: string, finishReason: string | null, refusal: string | null = null): FlagReason | null {
  if (refusal !== null && refusal.trim() !== '') return 'refusal';
  // With no text at all, the finish reason says why (filtered, or max_tokens spent before any content).
  const byFinish = finishReason === 'length' ? 'truncated' : finishReason === 'content_filter' ? 'content-filter' : null;
  if (!/[\p{L}\p{N}]/u.test(text)) return byFinish ?? 'empty';
  if (isRefusal(text)) return 'refusal';
  return byFinish;
}
