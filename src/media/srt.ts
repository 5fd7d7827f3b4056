/**
 * SubRip (SRT) formatting: one cue from a start and end in seconds and its text, the way RemoteMedia's
 * `SrtOutput` node writes it (examples/cli/remotemedia-cli/src/pipeline_nodes/srt_output.rs): a sequence
 * number line, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, the trimmed text (optionally wrapped at word boundaries),
 * and a blank line. The `SrtOutput` node and the CLI's `-o out.srt` both use this one function, so a
 * subtitle file is the same whichever wrote it.
 */

/** Seconds as an SRT timecode `HH:MM:SS,mmm`, rounded to the millisecond; negative or NaN gives 0. */
export function srtTimecode(seconds: number): string {
  const totalMs = seconds > 0 ? Math.round(seconds * 1000) : 0;
  const ms = totalMs % 1000;
  const totalSecs = Math.floor(totalMs / 1000);
  const secs = totalSecs % 60;
  const totalMins = Math.floor(totalSecs / 60);
  const mins = totalMins % 60;
  const hours = Math.floor(totalMins / 60);
  return `${pad(hours, 2)}:${pad(mins, 2)}:${pad(secs, 2)},${pad(ms, 3)}`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * Wraps text at word boundaries into lines of at most `maxLength` characters (a longer word stays whole on its
 * own line). Lengths count characters (code points); RemoteMedia counts UTF-8 bytes, which is the same for
 * ASCII and wraps non-ASCII text earlier than intended.
 */
export function wrapSrtText(text: string, maxLength: number): string {
  if (charLength(text) <= maxLength) return text;
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (word === '') continue;
    if (line === '') line = word;
    else if (charLength(line) + 1 + charLength(word) <= maxLength) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line !== '') lines.push(line);
  return lines.join('\n');
}

function charLength(s: string): number {
  return Array.from(s).length;
}

/**
 * One SRT cue, blank line included, so cues concatenate into a file: `1\n00:00:01,500 --> 00:00:04,000\nHello\n\n`.
 * `index` null leaves out the number line (RemoteMedia's `include_numbers: false`); `maxLineLength` > 0 wraps
 * the text. The text is trimmed.
 */
export function formatSrtCue(
  index: number | null,
  start: number,
  end: number,
  text: string,
  maxLineLength = 0,
): string {
  const trimmed = text.trim();
  const body = maxLineLength > 0 ? wrapSrtText(trimmed, maxLineLength) : trimmed;
  const times = `${srtTimecode(start)} --> ${srtTimecode(end)}`;
  return index === null ? `${times}\n${body}\n\n` : `${String(index)}\n${times}\n${body}\n\n`;
}
