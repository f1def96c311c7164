import type { Command } from 'commander';

/** Placeholder until this command lands; registers nothing. */
export function registerEvalMixtures(_program: Command): void {}
