/**
 * TextCollectorNode: RemoteMedia's sentence collector (crates/core/src/nodes/text_collector.rs). It buffers text
 * fragments (LLM tokens, transcript pieces) and emits each complete sentence as a string as soon as it ends:
 * a sentence ends at a boundary character (a run of them stays with the sentence), loses its leading
 * whitespace, and is dropped when shorter than `min_sentence_length` (UTF-8 bytes, as RemoteMedia counts).
 * `<|text_end|>` or `<|audio_end|>` in a fragment ends the utterance: the rest of the buffer is emitted when
 * `yield_partial_on_end`, then the marker itself. Text on another channel than RemoteMedia's default (a string
 * tagged `\0<len><channel>`) and items that are not text pass through unchanged.
 *
 * `split_pattern` is read as RemoteMedia's Rust node reads it: the characters of a regex character class, with
 * `[`, `]`, `+`, `\`, `n`, `r` and `t` removed (so `"[.!?]+"` gives . ! ?); the default boundaries are
 * . ! ? ; and newline. RemoteMedia's Python TextCollectorNode instead applies the pattern as a regex, with a
 * different default, and keeps no buffer between calls; the Rust node is the one its manifests run, so it is
 * the one followed. pitlane's own addition: at end of stream the rest of the buffer is emitted when
 * `yield_partial_on_end` (RemoteMedia has no end-of-stream hook, so its rest is lost).
 */
import { Type, type Static } from '@sinclair/typebox';
import { defineNodeType, type PipelineNode } from '../../pipeline/node.js';

const DEFAULT_BOUNDARIES = ['.', '!', '?', ';', '\n'];
const DEFAULTS = { min_sentence_length: 3, yield_partial_on_end: true };
const TEXT_END = '<|text_end|>';
const AUDIO_END = '<|audio_end|>';

const Params = Type.Object(
  {
    split_pattern: Type.Optional(
      Type.String({
        description:
          'Boundary characters, written as a regex character class such as "[.!?]+" (RemoteMedia reads its characters, without [ ] + \\ n r t). Default: . ! ? ; and newline.',
      }),
    ),
    min_sentence_length: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        default: DEFAULTS.min_sentence_length,
        description: 'Sentences shorter than this (UTF-8 bytes) are dropped. Default 3.',
      }),
    ),
    yield_partial_on_end: Type.Optional(
      Type.Boolean({
        default: DEFAULTS.yield_partial_on_end,
        description:
          'Emit the unfinished rest at <|text_end|>, <|audio_end|> and end of stream. Default true.',
      }),
    ),
    max_items: Type.Optional(
      Type.Number({
        description: 'Accepted for RemoteMedia manifests and ignored, as RemoteMedia ignores it.',
      }),
    ),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

/** RemoteMedia's reading of `split_pattern`: its characters, regex syntax (and, as there, n r t) removed. */
export function boundaryChars(pattern: string | undefined): readonly string[] {
  if (pattern === undefined) return DEFAULT_BOUNDARIES;
  return Array.from(pattern).filter((c) => !'[]+\\nrt'.includes(c));
}

/** The complete sentences of `buffer` and the unfinished rest. */
export function extractSentences(
  buffer: string,
  boundaries: readonly string[],
  minBytes: number,
): { sentences: string[]; rest: string } {
  const sentences: string[] = [];
  const chars = Array.from(buffer); // code points, like Rust's chars
  let start = 0;
  for (let i = 0; i < chars.length; i++) {
    if (!boundaries.includes(chars[i] as string)) continue;
    while (i + 1 < chars.length && boundaries.includes(chars[i + 1] as string)) i++;
    const sentence = chars
      .slice(start, i + 1)
      .join('')
      .trimStart();
    if (Buffer.byteLength(sentence) >= minBytes) sentences.push(sentence);
    start = i + 1;
  }
  return { sentences, rest: chars.slice(start).join('') };
}

/** A text channel tag `\0<len><channel>` (RemoteMedia's text_channel.rs); null for untagged text. */
function channelOf(text: string): { channel: string; content: string } | null {
  if (text.length < 2 || text.charCodeAt(0) !== 0) return null;
  const len = text.charCodeAt(1);
  // The length is one byte in RemoteMedia; channel names are ASCII, so a byte is a UTF-16 unit here.
  if (len === 0 || len > 0x7f || 2 + len > text.length) return null;
  return { channel: text.slice(2, 2 + len), content: text.slice(2 + len) };
}

/** RemoteMedia's default text channel: untagged text is on it. */
const DEFAULT_CHANNEL = 'tts';

export const TextCollector = defineNodeType<Params>({
  name: 'TextCollector',
  aliases: ['TextCollectorNode'],
  role: 'transform',
  description:
    'Buffers text fragments and emits complete sentences; <|text_end|>/<|audio_end|> flush the rest (RemoteMedia). Other items pass through.',
  params: Params,
  create: ({ params }): PipelineNode => {
    const boundaries = boundaryChars(params.split_pattern);
    const minBytes = params.min_sentence_length ?? DEFAULTS.min_sentence_length;
    const partialOnEnd = params.yield_partial_on_end ?? DEFAULTS.yield_partial_on_end;
    let buffer = '';
    return {
      process: (item) => {
        if (typeof item !== 'string') return item;
        const tagged = channelOf(item);
        if (tagged !== null && tagged.channel !== DEFAULT_CHANNEL) return item;
        const chunk = tagged === null ? item : tagged.content;
        const textEnd = chunk.includes(TEXT_END);
        const audioEnd = chunk.includes(AUDIO_END);
        buffer += chunk.replaceAll(TEXT_END, '').replaceAll(AUDIO_END, '');
        const { sentences, rest } = extractSentences(buffer, boundaries, minBytes);
        buffer = rest;
        if (textEnd || audioEnd) {
          if (partialOnEnd && buffer !== '') sentences.push(buffer);
          if (textEnd) sentences.push(TEXT_END);
          if (audioEnd) sentences.push(AUDIO_END);
          buffer = '';
        }
        return sentences.length === 0
          ? undefined
          : sentences.length === 1
            ? sentences[0]
            : sentences.values();
      },
      flush: () => {
        const rest = buffer;
        buffer = '';
        return partialOnEnd && rest.trim() !== '' ? rest.trim() : undefined;
      },
    };
  },
});
