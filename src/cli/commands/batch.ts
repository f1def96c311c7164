import type { Command } from 'commander';

/** Placeholder until this command lands; registers nothing. */
export function registerBatch(_program: Command): void {}
