/**
 * AudioChannelSplitterNode: RemoteMedia's speaker router (crates/core/src/nodes/audio_channel_splitter.rs; used by
 * its speaker-diarization and contact-centre manifests). It keeps the latest diarization result per stream (a
 * JSON item `{"segments": [{"start", "end", "speaker"}], "num_speakers", "time_offset"}` from a diarization node;
 * JSON is consumed, not passed on) and splits each audio frame by speaker: the frame is mixed to mono, and for
 * speaker i (i < min(num_speakers, max_speakers)) the samples inside that speaker's segments are kept and the
 * rest zeroed. Segment times are seconds of the stream; the frame is taken to start at `time_offset`, as
 * RemoteMedia does.
 *   - `output_mode: streams` (default): one mono frame per speaker who has audio in it, stream id
 *     `<stream_id_prefix>_<i>`, same timestamps;
 *   - `output_mode: channels`: one frame with a channel per speaker (speaker i = channel i), the input's stream id.
 * Before any segments arrive (or when num_speakers is 0) audio passes through, as does every other item.
 * `sample_rate` is the rate the diarization worked at: other audio is processed with a warning in the log (once
 * per stream), as RemoteMedia only warns.
 */
import { Type, type Static } from '@sinclair/typebox';
import { AudioFrame, isAudioFrame } from '../../core/audio.js';
import { defineNodeType, type NodeContext, type PipelineNode } from '../../pipeline/node.js';
import { PerStream } from './audio-items.js';
import { mixChannels } from './channel-mix.js';
import { outputsOf } from './fixed-chunks.js';
import { spelled, spellingConflicts } from './param-spellings.js';

const Mode = (description: string) =>
  Type.Union([Type.Literal('streams'), Type.Literal('channels')], { description });
const MaxSpeakers = (description: string) => Type.Integer({ minimum: 1, maximum: 64, description });
const Prefix = (description: string) => Type.String({ minLength: 1, maxLength: 200, description });
const Rate = (description: string) => Type.Integer({ minimum: 1000, maximum: 768_000, description });

const Params = Type.Object(
  {
    output_mode: Type.Optional(
      Mode('streams (default): a mono frame per speaker; channels: one frame, a channel per speaker.'),
    ),
    outputMode: Type.Optional(Mode('Spelling of output_mode.')),
    max_speakers: Type.Optional(MaxSpeakers('Most speakers routed (default 8).')),
    maxSpeakers: Type.Optional(MaxSpeakers('Spelling of max_speakers.')),
    stream_id_prefix: Type.Optional(
      Prefix('Stream id prefix in streams mode (default "speaker": speaker_0, ...).'),
    ),
    streamIdPrefix: Type.Optional(Prefix('Spelling of stream_id_prefix.')),
    sample_rate: Type.Optional(
      Rate('Rate the diarization worked at (default 16000); other audio is logged.'),
    ),
    sampleRate: Type.Optional(Rate('Spelling of sample_rate.')),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

const SPELLINGS = {
  mode: ['output_mode', 'outputMode'],
  max: ['max_speakers', 'maxSpeakers'],
  prefix: ['stream_id_prefix', 'streamIdPrefix'],
  rate: ['sample_rate', 'sampleRate'],
} as const;

/** One diarization segment: seconds of the stream and a speaker label ("0", "1", ...). */
interface Segment {
  readonly start: number;
  readonly end: number;
  readonly speaker: string;
}

interface SplitterState {
  segments: Segment[];
  numSpeakers: number;
  timeOffset: number;
  warnedRate: boolean;
}

function segmentOf(v: unknown): Segment | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const s = v as Record<string, unknown>;
  if (typeof s.start !== 'number' || typeof s.end !== 'number' || typeof s.speaker !== 'string')
    return undefined;
  return { start: s.start, end: s.end, speaker: s.speaker };
}

export const AudioChannelSplitterNode = defineNodeType<Params>({
  name: 'AudioChannelSplitterNode',
  aliases: [],
  role: 'transform',
  description:
    'Splits audio by speaker from diarization JSON ({segments, num_speakers, time_offset}): a mono stream per speaker (streams) or a channel per speaker (channels); passes audio through until segments arrive.',
  params: Params,
  check: (p) => spellingConflicts(p, Object.values(SPELLINGS)),
  create: (ctx: NodeContext<Params>): PipelineNode => {
    const p = ctx.params;
    const mode = spelled(p, SPELLINGS.mode) ?? 'streams';
    const maxSpeakers = spelled(p, SPELLINGS.max) ?? 8;
    const prefix = spelled(p, SPELLINGS.prefix) ?? 'speaker';
    const rate = spelled(p, SPELLINGS.rate) ?? 16_000;
    const log =
      ctx.options.log ??
      ((id: string, level: string, message: string) => {
        process.stderr.write(`[${id}] ${level.toUpperCase()} ${message}\n`);
      });
    const streams = new PerStream<SplitterState>();
    const stateOf = (id: string | undefined): SplitterState =>
      streams.getOrCreate(id, () => ({ segments: [], numSpeakers: 0, timeOffset: 0, warnedRate: false }));

    const update = (json: Record<string, unknown>): void => {
      const st = stateOf(typeof json.stream_id === 'string' ? json.stream_id : undefined);
      if (Array.isArray(json.segments)) {
        st.segments = json.segments.map(segmentOf).filter((s): s is Segment => s !== undefined);
      }
      if (typeof json.num_speakers === 'number' && json.num_speakers >= 0) {
        st.numSpeakers = Math.floor(json.num_speakers);
      }
      if (typeof json.time_offset === 'number') st.timeOffset = json.time_offset;
    };

    const split = (frame: AudioFrame): AudioFrame | AudioFrame[] => {
      const st = stateOf(frame.streamId);
      const speakers = Math.min(st.numSpeakers, maxSpeakers);
      if (st.segments.length === 0 || speakers === 0) return frame;
      if (frame.sampleRate !== rate && !st.warnedRate) {
        st.warnedRate = true;
        log(
          ctx.id,
          'warning',
          `audio at ${String(frame.sampleRate)} Hz, the diarization at ${String(rate)} Hz (sample_rate): segment times may be off`,
        );
      }
      const mono = mixChannels(frame.samples, frame.channels, 1);
      const perSpeaker = (i: number): Float32Array => {
        const out = new Float32Array(mono.length);
        const duration = mono.length / frame.sampleRate;
        const label = String(i);
        for (const seg of st.segments) {
          if (seg.speaker !== label) continue;
          const from = seg.start - st.timeOffset;
          const to = seg.end - st.timeOffset;
          if (to < 0 || from > duration) continue;
          const a = Math.min(mono.length, Math.floor(Math.max(0, from) * frame.sampleRate));
          const b = Math.min(mono.length, Math.floor(Math.min(duration, to) * frame.sampleRate));
          if (b > a) out.set(mono.subarray(a, b), a);
        }
        return out;
      };
      const base = {
        sampleRate: frame.sampleRate,
        timestampUs: frame.timestampUs,
        arrivalTsUs: frame.arrivalTsUs,
      };
      if (mode === 'channels') {
        const inter = new Float32Array(mono.length * speakers);
        for (let i = 0; i < speakers; i++) {
          const s = perSpeaker(i);
          for (let k = 0; k < s.length; k++) inter[k * speakers + i] = s[k] ?? 0;
        }
        return new AudioFrame(inter, { ...base, channels: speakers, streamId: frame.streamId });
      }
      const out: AudioFrame[] = [];
      for (let i = 0; i < speakers; i++) {
        const s = perSpeaker(i);
        if (!s.some((v) => Math.abs(v) > 0.0001)) continue;
        out.push(new AudioFrame(s, { ...base, channels: 1, streamId: `${prefix}_${String(i)}` }));
      }
      return out;
    };

    return {
      process: (item) => {
        if (isAudioFrame(item)) {
          const r = split(item);
          return Array.isArray(r) ? outputsOf(r) : r;
        }
        if (
          typeof item === 'object' &&
          item !== null &&
          !Array.isArray(item) &&
          !(item instanceof Uint8Array)
        ) {
          update(item as Record<string, unknown>);
          return undefined;
        }
        return item;
      },
    };
  },
});
