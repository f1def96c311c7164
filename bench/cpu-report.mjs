// Preloaded into a benchmarked process (node --import): at exit, writes the
// whole process's CPU time (all threads, user + system, µs) to stderr as
// "cpu-us <n>", so a benchmark on a shared machine can report CPU time
// beside wall time.
import { writeSync } from 'node:fs';
process.on('exit', () => {
  const { user, system } = process.cpuUsage();
  writeSync(2, `cpu-us ${user + system}\n`);
});
