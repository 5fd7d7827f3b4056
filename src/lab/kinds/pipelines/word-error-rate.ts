/**
 * Word error rate, as speech-recognition benchmarks count it: the word-level edit distance (substitutions,
 * deletions, insertions) between a hypothesis and a reference, divided by the reference's word count. Words are
 * compared after normalisation: lower case, sentence markers (`<s>`, `</s>`) and punctuation removed, apostrophes
 * inside words kept.
 */

/** A WER and the counts behind it. */
export interface WordErrorRate {
  /** errors / reference words (0 = perfect; can exceed 1 with many insertions). */
  readonly wer: number;
  readonly errors: number;
  readonly referenceWords: number;
}

/** The words of a text, normalised for scoring. */
export function scoringWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/<\/?s>/g, ' ')
    .replace(/[^\p{L}\p{N}' ]+/gu, ' ')
    .split(/\s+/)
    .map((w) => w.replace(/^'+|'+$/g, ''))
    .filter((w) => w.length > 0);
}

/** The word error rate of `hypothesis` against `reference`. */
export function wordErrorRate(reference: string, hypothesis: string): WordErrorRate {
  const ref = scoringWords(reference);
  const hyp = scoringWords(hypothesis);
  // One row of the Levenshtein table at a time.
  let prev = Array.from({ length: hyp.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const row = [i];
    for (let j = 1; j <= hyp.length; j++) {
      const substitute = (prev[j - 1] as number) + (ref[i - 1] === hyp[j - 1] ? 0 : 1);
      row.push(Math.min(substitute, (prev[j] as number) + 1, (row[j - 1] as number) + 1));
    }
    prev = row;
  }
  const errors = prev[hyp.length] as number;
  return {
    wer: ref.length === 0 ? (hyp.length === 0 ? 0 : 1) : errors / ref.length,
    errors,
    referenceWords: ref.length,
  };
}

/**
 * Reads a CMU Sphinx transcription file: one utterance a line, `<s> words </s> (file-id)`. Returns id → text.
 */
export function parseSphinxTranscription(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(.*)\(([^()]+)\)\s*$/.exec(line.trim());
    if (m !== null) out.set((m[2] as string).trim(), scoringWords(m[1] as string).join(' '));
  }
  return out;
}
