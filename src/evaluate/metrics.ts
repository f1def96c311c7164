// The metrics moved down to model/metrics.ts (the trainer needs them, and model/ must not import
// evaluate/). This re-export keeps model/train.ts and model/detector.ts compiling until they import it.
export * from '../model/metrics.js';
