/** csv-parse's synchronous parser; browsers get csv-engine.web.ts (the package's "browser" map). */
export { CsvError, parse } from "csv-parse/sync";
