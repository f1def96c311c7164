import { readFile } from 'node:fs/promises';
import { UserError } from '../util/errors.js';

/** How the machine text is derived from the human story. */
export type GenerateMode = 'highlights' | 'continue' | 'rewrite';
export const GENERATE_MODES: readonly GenerateMode[] = ['highlights', 'continue', 'rewrite'];

/**
 * Prompt templates. Placeholders (`{{name}}`):
 * - `{{highlights}}` the story's highlights / key points (highlights mode);
 * - `{{prefix}}`     the first N words of the human article (continue mode);
 * - `{{article}}`    the full human article (rewrite mode);
 * - `{{words}}`      approximate target length in words: the human article's length
 *                    (continue mode: what remains of it after the prefix), rounded to 10.
 * `system` may be empty to send no system message (some chat templates reject one).
 */
export interface PromptTemplates {
  system: string;
  highlights: string;
  continue: string;
  rewrite: string;
}

export const PLACEHOLDERS = ['highlights', 'prefix', 'article', 'words'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** The templates used unless `--prompts <file.json>` overrides some of them. */
export const DEFAULT_PROMPTS: Readonly<PromptTemplates> = Object.freeze({
  system: 'You are a professional news journalist.',
  highlights:
    'Write a news article of about {{words}} words based on the following highlights. ' +
    'Write only the article text: no title, no headline, no commentary.\n\nHighlights:\n{{highlights}}',
  continue:
    'Continue the following news article with about {{words}} more words in the same style. ' +
    'Reply with the continuation only, starting exactly where the text leaves off.\n\n{{prefix}}',
  rewrite:
    'Rewrite the following news article in your own words, keeping every fact and a similar length ' +
    '(about {{words}} words). Write only the rewritten article: no title, no commentary.\n\n{{article}}',
});

/** The placeholder that carries the story into each mode's template. */
const STORY_PLACEHOLDER: Readonly<Record<GenerateMode, Placeholder>> = { highlights: 'highlights', continue: 'prefix', rewrite: 'article' };

/** Words of a human article used as the prefix in continue mode, by default. */
export const DEFAULT_CONTINUE_WORDS = 15;

const PLACEHOLDER_RE = /\{\{\s*([A-Za-z_]+)\s*\}\}/g;

/**
 * Load templates from a JSON file `{system?, highlights?, continue?, rewrite?}`;
 * keys left out keep their defaults. Unknown keys or placeholders are user errors.
 */
export async function loadPromptTemplates(path: string): Promise<PromptTemplates> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UserError(`cannot read prompt templates ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UserError(`prompt templates ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parsePromptTemplates(parsed, path);
}

export function parsePromptTemplates(value: unknown, where = 'prompt templates'): PromptTemplates {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UserError(`${where}: expected a JSON object with keys system, highlights, continue, rewrite`);
  }
  const out: PromptTemplates = { ...DEFAULT_PROMPTS };
  for (const [key, template] of Object.entries(value as Record<string, unknown>)) {
    if (!(key in DEFAULT_PROMPTS)) {
      throw new UserError(`${where}: unknown key "${key}" (expected system, highlights, continue, rewrite)`);
    }
    if (template === null && key === 'system') {
      out.system = '';
      continue;
    }
    if (typeof template !== 'string') {
      throw new UserError(`${where}: "${key}" must be a string`);
    }
    for (const match of template.matchAll(PLACEHOLDER_RE)) {
      if (!(PLACEHOLDERS as readonly string[]).includes(match[1])) {
        throw new UserError(
          `${where}: "${key}" uses unknown placeholder {{${match[1]}}} (known: ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')})`,
        );
      }
    }
    if (key !== 'system' && template.trim() === '') throw new UserError(`${where}: "${key}" is empty`);
    const story = STORY_PLACEHOLDER[key as GenerateMode];
    if (story !== undefined && !usesPlaceholder(template, story)) {
      throw new UserError(`${where}: "${key}" does not use {{${story}}}, so the request would not carry the story and the output would not be its counterpart`);
    }
    out[key as keyof PromptTemplates] = template;
  }
  return out;
}

/** Whether a template uses `{{name}}`. */
export function usesPlaceholder(template: string, name: Placeholder): boolean {
  return [...template.matchAll(PLACEHOLDER_RE)].some((match) => match[1] === name);
}

/** Replace `{{name}}` placeholders; a placeholder without a value becomes ''. */
export function renderTemplate(template: string, values: Partial<Record<Placeholder, string>>): string {
  return template.replace(PLACEHOLDER_RE, (_, name: string) => values[name as Placeholder] ?? '');
}

/** The human story a machine text is generated from. */
export interface SourceStory {
  id: string;
  article: string;
  /** Highlights / key points; null when the input has none. */
  highlights: string | null;
}

export interface BuiltPrompt {
  /** System message, or null when the template is empty. */
  system: string | null;
  /** The user message, exactly as sent. */
  user: string;
  /** continue mode: the human prefix the model continues. */
  prefix: string | null;
}

export function countWords(text: string): number {
  const trimmed = text.trim();
  return trimmed === '' ? 0 : trimmed.split(/\s+/).length;
}

/** The first `n` whitespace-separated words of `text`, joined by single spaces. */
export function firstWords(text: string, n: number): string {
  return text.trim().split(/\s+/).slice(0, n).join(' ');
}

function roundWords(n: number): string {
  return String(Math.max(50, Math.round(n / 10) * 10));
}

/**
 * Highlights as a prompt wants them: a JSON array of key points (PAN'24 `prompt`)
 * becomes one point per line; anything else is used as is.
 */
export function formatHighlights(highlights: string): string {
  const trimmed = highlights.trim();
  if (trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (Array.isArray(parsed) && parsed.every((p) => typeof p === 'string')) {
        return parsed.map((p) => `- ${p.trim()}`).join('\n');
      }
    } catch {
      // not JSON: use verbatim
    }
  }
  return trimmed;
}

export function buildPrompt(
  mode: GenerateMode,
  story: SourceStory,
  templates: PromptTemplates = DEFAULT_PROMPTS,
  continueWords = DEFAULT_CONTINUE_WORDS,
): BuiltPrompt {
  const system = templates.system.trim() === '' ? null : templates.system;
  const articleWords = countWords(story.article);
  switch (mode) {
    case 'highlights': {
      if (story.highlights === null || story.highlights.trim() === '') {
        throw new Error(`story ${story.id} has no highlights`);
      }
      const user = renderTemplate(templates.highlights, {
        highlights: formatHighlights(story.highlights),
        words: roundWords(articleWords || 500),
        article: story.article,
        prefix: firstWords(story.article, continueWords),
      });
      return { system, user, prefix: null };
    }
    case 'continue': {
      const prefix = firstWords(story.article, continueWords);
      const user = renderTemplate(templates.continue, {
        prefix,
        words: roundWords(articleWords - countWords(prefix)),
        highlights: story.highlights ?? '',
        article: story.article,
      });
      return { system, user, prefix };
    }
    case 'rewrite': {
      const user = renderTemplate(templates.rewrite, {
        article: story.article,
        words: roundWords(articleWords),
        highlights: story.highlights ?? '',
        prefix: firstWords(story.article, continueWords),
      });
      return { system, user, prefix: null };
    }
  }
}

/**
 * The article as it reads in continue mode: the human prefix followed by the
 * model's continuation. When the model repeated the prefix itself, it is not doubled.
 */
export function joinContinuation(prefix: string, continuation: string): string {
  const cont = continuation.replace(/^\s+/, '');
  const norm = (s: string) => s.replace(/\s+/g, ' ').trim();
  if (norm(cont).startsWith(norm(prefix))) return cont;
  if (cont === '') return prefix;
  // Join with a space unless the continuation starts with punctuation that attaches to the prefix.
  return /^[,.;:!?%)\]'’]/.test(cont) ? `${prefix}${cont}` : `${prefix} ${cont}`;
}
