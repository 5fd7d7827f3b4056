/**
 * SrtOutput: transcripts to SubRip subtitles (RemoteMedia's SrtOutput: crates/core/src/nodes/streaming_registry.rs
 * and examples/cli/remotemedia-cli/src/pipeline_nodes/srt_output.rs). Each input gives one string holding its
 * cues (each cue ends with a blank line, so the outputs concatenate into an .srt file); numbering runs on across
 * inputs. Inputs, in the order they are tried:
 *   - `{segments: [{start, end, text}, ...]}` (Whisper's output): one cue per segment;
 *   - `{word, start, end}` (a word-timestamp update): one cue;
 *   - `{text, start, end}` with numeric times in seconds (pitlane's transcript items): one cue;
 *   - `{text}` without times, or a plain string: one cue from 0 to 10 s, as RemoteMedia does;
 * cues with blank text are skipped, and an input without any gives no output. Anything else is an item error.
 * The cue format is src/media/srt.ts, shared with the CLI's `-o out.srt`.
 */
import { Type, type Static } from '@sinclair/typebox';
import { isAudioFrame } from '../../core/audio.js';
import { ItemError } from '../../core/errors.js';
import { jsonTypeOf } from '../../core/json.js';
import { formatSrtCue } from '../../media/srt.js';
import { defineNodeType, type PipelineNode } from '../../pipeline/node.js';

const Params = Type.Object(
  {
    include_numbers: Type.Optional(
      Type.Boolean({ default: true, description: 'Write the cue number line. Default true.' }),
    ),
    max_line_length: Type.Optional(
      Type.Integer({
        minimum: 0,
        default: 0,
        description:
          'Wrap cue text at word boundaries to lines of at most this many characters (0: no wrap). Default 0.',
      }),
    ),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

/** RemoteMedia's span for text without times. */
const UNTIMED_END_S = 10;

interface Cue {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The cues of one input, or null when it is not something SrtOutput reads. */
function cuesOf(item: unknown): Cue[] | null {
  if (typeof item === 'string') return [{ start: 0, end: UNTIMED_END_S, text: item }];
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return null;
  if (ArrayBuffer.isView(item) || isAudioFrame(item)) return null;
  const o = item as Record<string, unknown>;
  if (o.word !== undefined) return [{ start: num(o.start), end: num(o.end), text: str(o.word) }];
  if (Array.isArray(o.segments)) {
    return o.segments.map((seg: unknown) => {
      const s = (typeof seg === 'object' && seg !== null ? seg : {}) as Record<string, unknown>;
      return { start: num(s.start), end: num(s.end), text: str(s.text) };
    });
  }
  if (typeof o.text === 'string') {
    const timed = typeof o.start === 'number' && typeof o.end === 'number';
    return [{ start: timed ? num(o.start) : 0, end: timed ? num(o.end) : UNTIMED_END_S, text: o.text }];
  }
  return [];
}

/** What an item is, for the error message. */
function kindOf(item: unknown): string {
  if (isAudioFrame(item)) return 'audio';
  if (ArrayBuffer.isView(item)) return 'binary';
  return jsonTypeOf(item);
}

export const SrtOutput = defineNodeType<Params>({
  name: 'SrtOutput',
  aliases: [],
  role: 'transform',
  description:
    'Transcript items ({text, start, end}, Whisper {segments}, word updates, plain text) to SRT cue text (RemoteMedia).',
  params: Params,
  create: ({ params }): PipelineNode => {
    const numbered = params.include_numbers ?? true;
    const maxLine = params.max_line_length ?? 0;
    let counter = 0;
    return {
      process: (item) => {
        const cues = cuesOf(item);
        if (cues === null) {
          throw new ItemError(
            `SrtOutput takes transcript objects ({text, start, end} or {segments}) or text, got ${kindOf(item)}`,
          );
        }
        let srt = '';
        for (const c of cues) {
          if (c.text.trim() === '') continue;
          srt += formatSrtCue(numbered ? ++counter : null, c.start, c.end, c.text, maxLine);
        }
        return srt === '' ? undefined : srt;
      },
    };
  },
});
