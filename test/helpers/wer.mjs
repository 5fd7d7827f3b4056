// Word error rate for the speech-recognition tests: the lab's scoring (src/lab/kinds/pipelines/word-error-rate.ts,
// the one the speech benchmark reports), over several utterances at once.
import {
  parseSphinxTranscription,
  wordErrorRate as oneWordErrorRate,
} from '../../dist/lab/kinds/pipelines/word-error-rate.js';

export { parseSphinxTranscription };

/**
 * The word error rate of hypotheses against references (parallel arrays of transcripts), over all of them:
 * total edits / total reference words.
 */
export function wordErrorRate(references, hypotheses) {
  if (references.length !== hypotheses.length) throw new Error('one hypothesis per reference');
  let edits = 0;
  let total = 0;
  references.forEach((ref, i) => {
    const one = oneWordErrorRate(ref, hypotheses[i]);
    edits += one.errors;
    total += one.referenceWords;
  });
  return edits / total;
}
