// Reading what `pitlane run` wrote: its JSONL output as values, for the integration tests that check records.

/** The values of JSONL text, one a line (a trailing newline or surrounding blank space is ignored). */
export function jsonLines(text) {
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
}
