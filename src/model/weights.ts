/**
 * Sample weights that give each group (a dataset and label, say) the same
 * total weight within its label, and both labels the same weight overall:
 * weight = N / (2 · groups with that label · size of the group). A source
 * with ten generators and one with one then contribute alike, and the model
 * is pushed towards what all sources share.
 */
export function balancedGroupWeights(groups: readonly string[], labels: ArrayLike<0 | 1>): Float64Array {
  const counts = new Map<string, number>();
  const labelOf = new Map<string, 0 | 1>();
  for (let i = 0; i < groups.length; i++) {
    counts.set(groups[i], (counts.get(groups[i]) ?? 0) + 1);
    labelOf.set(groups[i], labels[i]);
  }
  const groupsPerLabel = [0, 0];
  for (const label of labelOf.values()) groupsPerLabel[label]++;
  const out = new Float64Array(groups.length);
  for (let i = 0; i < groups.length; i++) out[i] = groups.length / (2 * groupsPerLabel[labels[i]] * counts.get(groups[i])!);
  return out;
}
