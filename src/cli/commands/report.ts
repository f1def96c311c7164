import type { Command } from 'commander';

/** Placeholder until this command lands; registers nothing. */
export function registerReport(_program: Command): void {}
