export type { Label, LabeledDocument, Origin, SchemaName } from './types.js';
export { datasetName, detectFormat, resolveInputs, STDIN_PATH, type InputFormat } from './inputs.js';
export { InvalidRecordError } from './invalid.js';
export { parseJsonObject, readRecords, type ReadRecordsOptions, type SourceRecord } from './read.js';
export { detectSchema, toDocuments, type MappingOptions } from './schema.js';
export { readAllDocuments, readDocuments, SkipReport, type ReadDocumentsOptions } from './documents.js';
export {
  groupBySourceComponents,
  kFoldByStory,
  seededUnit,
  sourceName,
  splitByStory,
  storyKey,
  type SplitOptions,
} from './split.js';
export { JsonlWriter } from './write.js';
