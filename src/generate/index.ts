export { ApiError, ChatClient, chatCompletionsUrl, safeUrl } from './client.js';
export type { ApiErrorKind, ChatClientOptions, ChatMessage, Completion, RetryInfo, Usage } from './client.js';
export { generateCorpus, rejectedPath } from './generate.js';
export type { GenerateEvent, GenerateOptions, GenerateSummary, OutputFormat } from './generate.js';
export {
  buildPrompt,
  DEFAULT_CONTINUE_WORDS,
  DEFAULT_PROMPTS,
  GENERATE_MODES,
  joinContinuation,
  loadPromptTemplates,
  parsePromptTemplates,
  renderTemplate,
} from './prompts.js';
export type { BuiltPrompt, GenerateMode, PromptTemplates, SourceStory } from './prompts.js';
export { flagOutput, isRefusal, type FlagReason } from './quality.js';
export { LineAppender, repairTornLine, scanExisting, type ExistingOutput } from './resume.js';
