// Word error rate: (substitutions + deletions + insertions) / reference words, by word-level edit distance
// (Levenshtein). Words are compared lower-cased, split on whitespace. Used by the speech-recognition tests.

/** The words of a transcript: lower-cased, split on whitespace. */
export function words(text) {
  return text
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => w !== '');
}

/** Word-level edit distance between two word lists. */
export function editDistance(ref, hyp) {
  let prev = Array.from({ length: hyp.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const cur = [i];
    for (let j = 1; j <= hyp.length; j++) {
      const same = ref[i - 1] === hyp[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + same);
    }
    prev = cur;
  }
  return prev[hyp.length];
}

/**
 * The word error rate of hypotheses against references (parallel arrays of transcripts), over all of them:
 * total edits / total reference words.
 */
export function wordErrorRate(references, hypotheses) {
  if (references.length !== hypotheses.length) throw new Error('one hypothesis per reference');
  let edits = 0;
  let total = 0;
  references.forEach((ref, i) => {
    const r = words(ref);
    edits += editDistance(r, words(hypotheses[i]));
    total += r.length;
  });
  return edits / total;
}

/**
 * A CMU Sphinx transcription file (`<s> words </s> (utterance-id)` per line) as a Map of id -> words text.
 */
export function parseSphinxTranscription(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    const m = /^\s*(?:<s>)?(.*?)(?:<\/s>)?\s*\(([^)]+)\)\s*$/.exec(line);
    if (m) out.set(m[2], m[1].trim());
  }
  return out;
}
