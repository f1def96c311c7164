import { Command, Option } from 'commander';
import { generateCorpus, rejectedPath, type GenerateEvent, type GenerateSummary, type OutputFormat } from '../../generate/generate.js';
import { DEFAULT_CONTINUE_WORDS, DEFAULT_PROMPTS, loadPromptTemplates, usesPlaceholder, type GenerateMode, type PromptTemplates } from '../../generate/prompts.js';
import { UserError } from '../../util/errors.js';
import { assertOutputsNotInputs } from '../../corpus/paths.js';
import { parseNonNegativeNumber, parsePositiveInt, parsePositiveNumber, parseWholeNumber } from '../options.js';

interface GenerateFlags {
  data: string[];
  endpoint: string;
  model: string;
  out: string;
  mode: GenerateMode;
  format: OutputFormat;
  field: string;
  prompts?: string;
  concurrency: number;
  limit?: number;
  timeout: number;
  maxRetries: number;
  maxTokens: number;
  temperature?: number;
  continueWords: number;
  stream?: boolean;
  retryRejected?: boolean;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
}

/** `copydesk generate`: flags only; the work is in src/generate. */
export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description(
      'write machine counterparts of human stories with any OpenAI-compatible chat-completions endpoint ' +
        '(OpenAI, vLLM, llama.cpp server, Ollama). The API key is read from COPYDESK_API_KEY or OPENAI_API_KEY. ' +
        'Output is appended line by line in completion order; re-running the same command resumes it. ' +
        'Refusals, empty and truncated outputs go to <out>.rejected.jsonl, not to <out>.',
    )
    .addOption(
      new Option('--data <path>', 'seed- or labeled-schema input: file, directory or glob (JSONL, CSV, Parquet); repeatable')
        .argParser(collect)
        .makeOptionMandatory(),
    )
    .requiredOption('--endpoint <url>', 'base URL, e.g. http://localhost:8000/v1 (or the full .../chat/completions URL)')
    .requiredOption('--model <name>', 'model name sent to the endpoint; also the output `generator`')
    .requiredOption('--out <file.jsonl>', 'output file (appended; resumed when it exists)')
    .addOption(
      new Option('--mode <mode>', 'highlights: write from the highlights (seed `highlights`, labeled `prompt`); continue: continue the first --continue-words words (the output text starts with that human prefix, also recorded in `prefix`); rewrite: rewrite the article')
        .choices(['highlights', 'continue', 'rewrite'])
        .default('highlights'),
    )
    .addOption(
      new Option('--format <format>', 'seed: {id, article, highlights, <field>}; labeled: one machine record per story')
        .choices(['seed', 'labeled'])
        .default('seed'),
    )
    .option('--field <name>', 'seed format: field for the generated text (train reads "chatgpt")', 'chatgpt')
    .option('--prompts <file.json>', 'prompt templates {system, highlights, continue, rewrite} with {{highlights}} {{prefix}} {{article}} {{words}}')
    .option('--concurrency <n>', 'requests in flight at once', parsePositiveInt('--concurrency'), 4)
    .option('--limit <n>', 'use only the first N eligible input stories', parseWholeNumber('--limit'))
    .option('--timeout <seconds>', 'per-request timeout', parsePositiveNumber('--timeout'), 120)
    .option('--max-retries <n>', 'retries per record on 429, 5xx, timeouts and connection errors before the answer arrives (a malformed or cut-off answer fails its record; re-run to ask again)', parseWholeNumber('--max-retries'), 5)
    .option('--max-tokens <n>', 'max_tokens per request (0: let the server decide)', parseWholeNumber('--max-tokens'), 2048)
    .option('--temperature <t>', 'sampling temperature (default: the server\'s)', parseNonNegativeNumber('--temperature'))
    .option('--continue-words <n>', 'continue mode: words of the human article given as the prefix', parsePositiveInt('--continue-words'), DEFAULT_CONTINUE_WORDS)
    .option('--stream', 'ask for server-sent-event streaming (stream: true)')
    .option('--retry-rejected', 'ask again for stories an earlier run flagged (refusal, empty, truncated)')
    .option('--json', 'print the summary as JSON on stdout')
    .option('--verbose', 'log every retry, failure and flagged output on stderr')
    .option('--quiet', 'no progress display')
    .action(async (flags: GenerateFlags, command: Command) => {
      await assertOutputsNotInputs([flags.out, rejectedPath(flags.out)], [...flags.data, flags.prompts]);
      const prompts = flags.prompts ? await loadPromptTemplates(flags.prompts) : DEFAULT_PROMPTS;
      assertFlagsFit(flags, prompts, (name) => command.getOptionValueSource(name) !== 'default');
      const summary = await runGenerate(flags, prompts);
      if (flags.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      process.stderr.write(formatSummary(summary));
      if (summary.interrupted) process.exitCode = 130;
      else if (summary.failed > 0) process.exitCode = 1;
    });
}

/** Flags the chosen format or mode would ignore are refused before anything is asked, instead of being ignored. */
function assertFlagsFit(flags: GenerateFlags, prompts: PromptTemplates, given: (name: string) => boolean): void {
  if (flags.format !== 'seed' && given('field')) {
    throw new UserError('--field goes with --format seed (the labeled format keeps the text in "text"; without it --field would be ignored)');
  }
  if (flags.mode !== 'continue' && given('continueWords') && !usesPlaceholder(prompts[flags.mode], 'prefix')) {
    throw new UserError(`--continue-words goes with --mode continue (or a --prompts ${flags.mode} template that uses {{prefix}}); without it it would be ignored`);
  }
}

async function runGenerate(flags: GenerateFlags, prompts: PromptTemplates): Promise<GenerateSummary> {
  const apiKey = (process.env.COPYDESK_API_KEY ?? '').trim() || (process.env.OPENAI_API_KEY ?? '').trim() || null;
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\ncopydesk: interrupted, finishing up (press Ctrl-C again to quit now); run the same command to resume\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await generateCorpus({
      data: flags.data,
      out: flags.out,
      endpoint: flags.endpoint,
      model: flags.model,
      apiKey,
      mode: flags.mode,
      format: flags.format,
      field: flags.field,
      prompts,
      continueWords: flags.continueWords,
      concurrency: flags.concurrency,
      limit: flags.limit ?? null,
      timeoutMs: flags.timeout * 1000,
      maxRetries: flags.maxRetries,
      maxTokens: flags.maxTokens === 0 ? null : flags.maxTokens,
      temperature: flags.temperature ?? null,
      stream: Boolean(flags.stream),
      retryRejected: Boolean(flags.retryRejected),
      progress: flags.quiet ? { silent: true } : {},
      onEvent: flags.verbose ? logEvent : undefined,
      signal: controller.signal,
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function logEvent(event: GenerateEvent): void {
  const line =
    event.type === 'retry'
      ? `retry ${event.attempt} for ${event.id} in ${(event.delayMs / 1000).toFixed(1)} s (${event.reason})`
      : event.type === 'failed'
        ? `failed ${event.id}: ${event.message}`
        : event.type === 'flagged'
          ? `flagged ${event.id}: ${event.reason}`
          : `repaired ${event.file}: cut a torn last line (${event.bytes} bytes)`;
  process.stderr.write(`copydesk: ${line}\n`);
}

function counts(record: Record<string, number | undefined>): string {
  return Object.entries(record)
    .filter(([, n]) => n)
    .map(([reason, n]) => `${reason}: ${n}`)
    .join(', ');
}

export function formatSummary(s: GenerateSummary): string {
  const lines: string[] = [];
  const failed = s.failed ? ` (${counts(s.failures)})` : '';
  const flagged = s.flagged ? ` (${counts(s.flags)})` : '';
  lines.push(
    `generate ${s.model} (${s.mode}, ${s.format}): ${s.generated} generated, ${s.failed} failed${failed}, ` +
      `${s.flagged} flagged${flagged}, ${s.skippedDone} skipped as already done` +
      (s.skippedRejected ? `, ${s.skippedRejected} skipped as flagged before` : '') +
      ` — of ${s.stories} stories`,
  );
  const usage = s.responsesWithoutUsage ? ` (${s.responsesWithoutUsage} responses reported no usage)` : '';
  lines.push(`  tokens: ${s.promptTokens} prompt + ${s.completionTokens} completion${usage}; ${s.retries} retries; ${s.elapsedSeconds.toFixed(1)} s`);
  lines.push(`  output: ${s.out}` + (s.flagged || s.skippedRejected ? `; flagged outputs: ${s.rejectedOut}` : ''));
  if (Object.keys(s.skippedInput).length) lines.push(`  input records not used: ${counts(s.skippedInput)}`);
  if (s.repairedBytes) lines.push(`  resumed: cut a torn last line (${s.repairedBytes} bytes)`);
  for (const f of s.failedExamples) lines.push(`  failed ${f.id}: ${f.message}`);
  if (s.failed > s.failedExamples.length) lines.push(`  … and ${s.failed - s.failedExamples.length} more failures`);
  if (s.failed) lines.push('  run the same command again to retry the failed records');
  if (s.interrupted) lines.push('  interrupted: run the same command again to resume');
  return `${lines.join('\n')}\n`;
}
