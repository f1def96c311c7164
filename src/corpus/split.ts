import { UserError } from '../util/errors.js';
import { hashCodePoints } from '../util/hash.js';
import type { LabeledDocument } from './types.js';

/** Documents written from the same story share this key. */
export function storyKey(document: LabeledDocument): string {
  return document.pair_id ?? document.id;
}

/** The publisher-level source, e.g. 'NLP2CT/DetectRL' from 'NLP2CT/DetectRL:xsum'. */
export function sourceName(document: LabeledDocument): string {
  const source = document.source?.split(':')[0]?.trim();
  return source || document.dataset;
}

/** A seeded hash of a key in [0, 1) (the shared code-point FNV-1a with murmur3 finish). */
export function seededUnit(seed: number | string, key: string): number {
  return hashCodePoints(`${seed}\u0000${key}`) / 2 ** 32;
}

/** Distinct story keys, in a seeded pseudo-random but reproducible order. */
function shuffledStories(documents: LabeledDocument[], seed: number | string): string[] {
  const stories = [...new Set(documents.map(storyKey))];
  const rank = new Map(stories.map((story) => [story, seededUnit(seed, story)]));
  return stories.sort((a, b) => rank.get(a)! - rank.get(b)! || (a < b ? -1 : 1));
}

export interface SplitOptions {
  /** Share of stories (not documents) that go to test, in (0, 1). */
  testFraction: number;
  seed: number | string;
}

/**
 * Train/test split by story, so no story's human and machine versions sit
 * on both sides (that would let a detector recognise the story, not the
 * author). The test side gets round(stories × fraction) stories, at
 * least one on each side when there are two or more.
 */
export function splitByStory(
  documents: LabeledDocument[],
  { testFraction, seed }: SplitOptions,
): { train: LabeledDocument[]; test: LabeledDocument[] } {
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new UserError(`test fraction must be between 0 and 1, got ${testFraction}`);
  }
  const stories = shuffledStories(documents, seed);
  const wanted = Math.round(stories.length * testFraction);
  const testCount = stories.length < 2 ? 0 : Math.min(Math.max(wanted, 1), stories.length - 1);
  const testStories = new Set(stories.slice(0, testCount));
  const train: LabeledDocument[] = [];
  const test: LabeledDocument[] = [];
  for (const document of documents) (testStories.has(storyKey(document)) ? test : train).push(document);
  return { train, test };
}

/**
 * The fold (0..k-1) of each document, aligned with `documents`. Stories
 * are dealt round-robin in seeded order, so fold sizes differ by at most
 * one story and a story never spans two folds.
 */
export function kFoldByStory(documents: LabeledDocument[], k: number, seed: number | string): number[] {
  const stories = shuffledStories(documents, seed);
  if (!Number.isInteger(k) || k < 2) throw new UserError(`number of folds must be an integer of at least 2, got ${k}`);
  if (k > stories.length) throw new UserError(`cannot make ${k} folds from ${stories.length} stories`);
  const foldOf = new Map(stories.map((story, index) => [story, index % k]));
  return documents.map((document) => foldOf.get(storyKey(document))!);
}

/**
 * Datasets linked by a shared pair_id (the same story rewritten in another
 * file, e.g. cnn_dailymail_chatgpt and cnn_dailymail_other_llms) form one
 * group, named by its datasets sorted and joined with '+'. Holding out a
 * whole group is what keeps leave-one-source-out free of story leaks.
 */
export function groupBySourceComponents(documents: LabeledDocument[]): Map<string, LabeledDocument[]> {
  const components = new DisjointSets();
  const datasetOfStory = new Map<string, string>();
  for (const { dataset, pair_id } of documents) {
    components.add(dataset);
    if (pair_id === null) continue;
    const seenIn = datasetOfStory.get(pair_id);
    if (seenIn === undefined) datasetOfStory.set(pair_id, dataset);
    else components.union(seenIn, dataset);
  }
  const groupName = new Map<string, string>();
  for (const members of components.groups()) {
    const name = [...members].sort().join('+');
    for (const dataset of members) groupName.set(dataset, name);
  }
  const groups = new Map<string, LabeledDocument[]>();
  for (const name of [...new Set(groupName.values())].sort()) groups.set(name, []);
  for (const document of documents) groups.get(groupName.get(document.dataset)!)!.push(document);
  return groups;
}

/** Union-find over names: just enough for connected components. */
class DisjointSets {
  private readonly parent = new Map<string, string>();

  add(name: string): void {
    if (!this.parent.has(name)) this.parent.set(name, name);
  }

  find(name: string): string {
    let root = name;
    while (this.parent.get(root) !== root) root = this.parent.get(root)!;
    this.parent.set(name, root);
    return root;
  }

  union(a: string, b: string): void {
    const rootA = this.find(a);
    const rootB = this.find(b);
    if (rootA !== rootB) this.parent.set(rootB, rootA);
  }

  groups(): string[][] {
    const byRoot = new Map<string, string[]>();
    for (const name of this.parent.keys()) {
      const root = this.find(name);
      byRoot.set(root, [...(byRoot.get(root) ?? []), name]);
    }
    return [...byRoot.values()];
  }
}
