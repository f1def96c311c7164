import { Option, type Command } from 'commander';
import { splitByStory } from '../../corpus/split.js';
import { DEFAULT_LEVEL } from '../../detect/sentences.js';
import { evaluateMixtures, formatMixtureEvaluation, mixturePowerSvg, pairsOf, samplePairs } from '../../evaluate/mixtures.js';
import { DEFAULT_SHIFT_FRACTION, DEFAULT_SHIFT_LEVELS, evaluateMixtureShift, formatMixtureShift, SHIFT_SETTINGS, type ShiftSetting } from '../../evaluate/mixture-shift.js';
import { loadDetector, saveDetector } from '../../model/model-file.js';
import { trainDetector } from '../../model/train.js';
import { DEFAULT_SENTENCE_CALIBRATION, defaultTrainingExtensions, SENTENCE_CALIBRATIONS } from '../../detect/sentence-training.js';
import { UserError } from '../../util/errors.js';
import { createProgress } from '../../util/progress.js';
import { assertOutputDirectoriesExist, assertOutputsNotInputs, writeOutput } from '../../corpus/paths.js';
import { parsePositiveInt, parseProbability, readLabeled, warnAboutModel, warnIfTrainedOn } from '../options.js';

interface EvalMixturesFlags {
  data: string[];
  model?: string;
  holdout?: number;
  seed: number;
  level: number;
  json?: boolean;
  plot?: string;
  saveModel?: string;
  maxPairs?: number;
  heldOut?: ShiftSetting[];
  calibrations?: string[];
  maxPerGroup?: number;
  maxTest?: number;
  skipInvalid?: boolean;
  quiet?: boolean;
}

const DEFAULT_HOLDOUT = 0.25;

export function registerEvalMixtures(program: Command): void {
  program
    .command('eval-mixtures')
    .description(
      'evaluate sentence-level attribution on mixtures of held-out human/machine pairs (k = 0, 10, 20, 30, 50, 100% machine sentences): sentence AUROC, document power at 5%/1% FPR, flagged-sentence precision/recall',
    )
    .requiredOption('--data <paths...>', 'labeled data with pair_id links (seed or labeled schema)')
    .option(
      '--model <file>',
      'evaluate this model instead of training one; its training data must not contain the evaluated pairs (combine with --holdout/--seed to evaluate only the test stories of the split it was trained on)',
    )
    .option('--holdout <fraction>', `share of stories held out for evaluation (default ${DEFAULT_HOLDOUT} when no --model is given: a model is trained on the other stories)`, parseProbability('--holdout'))
    .option('--seed <n>', 'seed for the story split and the mixtures', parsePositiveInt('--seed'), 13)
    .option('--level <alpha>', 'significance level of the mixture test decision', parseProbability('--level'), DEFAULT_LEVEL)
    .option('--save-model <file>', 'with no --model: save the model trained on the training stories')
    .option('--max-pairs <n>', 'evaluate at most this many pairs (seeded sample)', parsePositiveInt('--max-pairs'))
    .addOption(
      new Option(
        '--held-out <settings...>',
        "measure the mixture test's honesty under shift instead (held-out stories; leave-one-source-out; held-out topics, field \"topic\"): one training per held-out split, FPR of its human articles at levels 0.01/0.05 and power at 20% machine sentences",
      ).choices(SHIFT_SETTINGS),
    )
    .addOption(
      new Option('--calibrations <names...>', 'with --held-out: sentence calibrations to compare (default: the default calibration)').choices(Object.keys(SENTENCE_CALIBRATIONS)),
    )
    .option('--max-per-group <n>', 'with --held-out: at most n training documents per (dataset, label), sampled by story', parsePositiveInt('--max-per-group'))
    .option('--max-test <n>', 'with --held-out: at most n human articles and n pairs per held-out split (seeded)', parsePositiveInt('--max-test'))
    .option('--json', 'print the report as JSON')
    .option('--plot <file.svg>', 'write a plot of power against k (SVG)')
    .option('--skip-invalid', 'skip malformed rows (reported) instead of stopping')
    .option('--quiet', 'no progress output')
    .action(async (flags: EvalMixturesFlags, command: Command) => {
      assertFlagsFit(flags, command.getOptionValueSource('level') !== 'default');
      await assertOutputsNotInputs([flags.saveModel, flags.plot], [...flags.data, flags.model]);
      assertOutputDirectoriesExist([flags.saveModel, flags.plot]);
      const documents = await readLabeled(flags);
      if (flags.heldOut) return heldOut(documents, flags);
      const holdout = flags.holdout ?? (flags.model ? undefined : DEFAULT_HOLDOUT);
      const split = holdout === undefined ? { train: [], test: documents } : splitByStory(documents, { testFraction: holdout, seed: flags.seed });
      let detector;
      if (flags.model) {
        detector = loadDetector(flags.model);
        warnAboutModel(detector, flags.model);
        warnIfTrainedOn(detector, split.test.map((d) => d.dataset), holdout === undefined ? undefined : { holdout, seed: flags.seed });
      } else {
        if (!flags.quiet) process.stderr.write(`training on ${split.train.length} documents of the training stories (held out: ${split.test.length})\n`);
        detector = trainDetector(split.train, { seed: flags.seed, extensions: defaultTrainingExtensions() });
        detector.metadata.training.split = { by: 'story', holdout: holdout!, seed: flags.seed };
        warnAboutModel(detector, flags.saveModel ?? '(trained on the training stories)');
        if (flags.saveModel) saveDetector(detector, flags.saveModel);
      }
      let pairs = pairsOf(split.test);
      if (pairs.length === 0) throw new UserError('no held-out pairs: the data needs human and machine documents sharing a pair_id');
      if (flags.maxPairs) pairs = samplePairs(pairs, flags.maxPairs, flags.seed);
      const progress = createProgress({ label: 'mixtures', total: pairs.length * 6, unit: 'docs', silent: flags.quiet });
      const { evaluation } = evaluateMixtures(detector, pairs, { level: flags.level, seed: flags.seed, onProgress: (d) => progress.update(d) });
      progress.stop();
      const protocol = flags.model
        ? `model ${flags.model}${holdout === undefined ? ' on all given pairs' : `, test stories of a ${holdout} story split (seed ${flags.seed})`}`
        : `trained on ${1 - holdout!} of the stories, evaluated on the other ${holdout} (seed ${flags.seed})`;
      process.stdout.write(flags.json ? `${JSON.stringify({ protocol, ...evaluation }, null, 2)}\n` : `${protocol}\n${formatMixtureEvaluation(evaluation)}`);
      if (flags.plot) {
        writeOutput(flags.plot, mixturePowerSvg(evaluation, 'Mixture detection power against share of machine sentences'));
        process.stderr.write(`wrote ${flags.plot}\n`);
      }
    });
}

/** Flags that belong to the other mode are refused before any data is read, instead of being ignored. */
function assertFlagsFit(flags: EvalMixturesFlags, levelGiven: boolean): void {
  if (flags.heldOut) {
    if (flags.model || flags.saveModel || flags.plot) throw new UserError('--held-out trains one model per held-out split: it cannot take --model, --save-model or --plot');
    if (flags.maxPairs !== undefined || levelGiven) {
      throw new UserError(`--held-out measures every held-out pair at levels ${DEFAULT_SHIFT_LEVELS.join(' and ')}: it cannot take --max-pairs or --level (use --max-test to cap each split)`);
    }
  } else {
    if (flags.model && flags.saveModel) throw new UserError('--save-model saves the model eval-mixtures trains; with --model nothing is trained');
    const given = [flags.calibrations && '--calibrations', flags.maxPerGroup !== undefined && '--max-per-group', flags.maxTest !== undefined && '--max-test'].filter(Boolean);
    if (given.length > 0) throw new UserError(`${given.join(', ')} ${given.length === 1 ? 'goes' : 'go'} with --held-out only (without it they would be ignored)`);
  }
}

function heldOut(documents: Awaited<ReturnType<typeof readLabeled>>, flags: EvalMixturesFlags): void {
  const settings = flags.heldOut!;
  const calibrations = flags.calibrations ?? [DEFAULT_SENTENCE_CALIBRATION];
  const report = evaluateMixtureShift(documents, {
    settings,
    calibrations,
    seed: flags.seed,
    holdout: flags.holdout ?? DEFAULT_HOLDOUT,
    maxPerGroup: flags.maxPerGroup,
    maxTest: flags.maxTest,
    onProgress: flags.quiet ? undefined : (message, done, total) => process.stderr.write(`[${done + 1 > total ? total : done + 1}/${total}] ${message}\n`),
    onSplit: flags.quiet ? undefined : (rows) => process.stderr.write(formatMixtureShift({ levels: DEFAULT_SHIFT_LEVELS, fraction: DEFAULT_SHIFT_FRACTION, rows, totals: [] }, 'rows')),
  });
  process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatMixtureShift(report, 'rows')}\n${formatMixtureShift(report, 'totals')}`);
}
