/**
 * The audio the media scenarios of `pitlane bench pipelines` run on: real recorded speech with its transcription,
 * from Debian's pocketsphinx-testdata (five LibriVox clips of "Sense and Sensibility", 16 kHz mono, and their
 * transcription file). The clips are joined with half a second of silence between them and converted by ffmpeg —
 * neither contestant — to the rate and channel count a scenario asks for (the plan's 48 kHz stereo: what a
 * microphone or a WebRTC track gives), so both executors resample and mix the same file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchError } from '../../../core/errors.js';
import { parseSphinxTranscription } from './word-error-rate.js';

/** Where Debian's pocketsphinx-testdata puts the LibriVox clips. */
export const LIBRIVOX_DIR = '/usr/share/pocketsphinx/test/data/librivox';

/** A prepared input: the audio file and the words spoken in it. */
export interface MediaInput {
  readonly audio: string;
  /** The transcription of the whole file, normalised for scoring. */
  readonly reference: string;
  /** Seconds of audio in the file. */
  readonly seconds: number;
  /** What it is, for the report. */
  readonly description: string;
}

/** Silence between the clips, in seconds. */
const GAP_S = 0.5;

/** Joins the LibriVox clips into one WAV at `sampleRate` × `channels` in `dir`. */
export function prepareLibrivoxInput(
  dir: string,
  sampleRate: number,
  channels: number,
  maxSeconds?: number,
): MediaInput {
  const fileids = join(LIBRIVOX_DIR, 'fileids');
  if (!existsSync(fileids)) {
    throw new BenchError(
      `the speech scenarios need Debian's pocketsphinx-testdata (${LIBRIVOX_DIR}): apt-get install pocketsphinx-testdata`,
    );
  }
  const ids = readFileSync(fileids, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const transcription = parseSphinxTranscription(readFileSync(join(LIBRIVOX_DIR, 'transcription'), 'utf8'));
  const out = join(
    dir,
    `librivox-${sampleRate}-${channels}ch${maxSeconds !== undefined ? `-${maxSeconds}s` : ''}.wav`,
  );
  const inputs = ids.flatMap((id) => ['-i', join(LIBRIVOX_DIR, `${id}.wav`)]);
  const padded = ids.map((_, i) => `[${i}:a]apad=pad_dur=${GAP_S}[a${i}]`).join(';');
  const joined = ids.map((_, i) => `[a${i}]`).join('');
  const mix =
    channels === 1
      ? ''
      : `,pan=${channels === 2 ? 'stereo' : `${channels}c`}|${Array.from({ length: channels }, (_, c) => `c${c}=c0`).join('|')}`;
  const filter = `${padded};${joined}concat=n=${ids.length}:v=0:a=1,aresample=${sampleRate}${mix}`;
  const r = spawnSync(
    'ffmpeg',
    [
      '-v',
      'error',
      '-y',
      ...inputs,
      '-filter_complex',
      filter,
      ...(maxSeconds !== undefined ? ['-t', String(maxSeconds)] : []),
      '-c:a',
      'pcm_s16le',
      out,
    ],
    { encoding: 'utf8' },
  );
  if (r.error !== undefined || r.status !== 0) {
    throw new BenchError(
      `ffmpeg could not prepare the speech input (it is needed for the speech scenarios: apt-get install ffmpeg): ${r.error?.message ?? r.stderr.trim()}`,
    );
  }
  const bytes = readFileSync(out).length - 44;
  return {
    audio: out,
    // A cut input has no full transcription (live scenarios do not score words).
    reference: maxSeconds === undefined ? ids.map((id) => transcription.get(id) ?? '').join(' ') : '',
    seconds: bytes / 2 / channels / sampleRate,
    description: `${ids.length} LibriVox clips (pocketsphinx-testdata) joined with ${GAP_S} s gaps${maxSeconds !== undefined ? `, first ${maxSeconds} s` : ''}, ${sampleRate} Hz × ${channels}`,
  };
}
