/** csv-engine.ts for browsers: csv-parse's browser build of the same parser (it brings its own Buffer). */
export { CsvError, parse } from "csv-parse/browser/esm/sync";
