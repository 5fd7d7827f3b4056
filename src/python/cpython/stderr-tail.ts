/**
 * The last lines a CPython worker wrote on stderr, kept for the message of a crash (a Python fatal error or the
 * faulthandler's stack is the most useful part of it). Bounded in lines and in line length.
 */

/** A ring of the last `maxLines` lines of a text stream, each cut at `maxChars`. */
export class LineRing {
  private readonly lines: string[] = [];
  private partial = '';

  constructor(
    private readonly maxLines: number,
    private readonly maxChars: number,
  ) {}

  push(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const part of parts) this.add(part);
    while (this.partial.length > this.maxChars) {
      this.add(this.partial.slice(0, this.maxChars));
      this.partial = this.partial.slice(this.maxChars);
    }
  }

  private add(line: string): void {
    this.lines.push(line.slice(0, this.maxChars));
    if (this.lines.length > this.maxLines) this.lines.shift();
  }

  /** The lines kept (and the unfinished one), trimmed. */
  tail(): string {
    return [...this.lines, ...(this.partial === '' ? [] : [this.partial])].join('\n').trim();
  }
}
