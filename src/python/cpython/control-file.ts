/**
 * The control file of a CPython worker: 16 bytes, memory-mapped by the worker (its fd 3), in which it stores the
 * sequence number and the start time (CLOCK_MONOTONIC ns) of the call it is running, 0 while none runs. This side
 * reads it only when a timer fires (at most once per timeout period) and when a worker died: per-item progress
 * costs no message and no system call on either side.
 */
import { closeSync, existsSync, ftruncateSync, openSync, readSync } from 'node:fs';
import { endianness, tmpdir } from 'node:os';
import { join } from 'node:path';

const LITTLE_ENDIAN = endianness() === 'LE';

/** A 16-byte control file for a new worker; unlinked once the worker has it. */
export function createControlFile(): { fd: number; path: string } {
  const dir = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const path = join(
    dir,
    `pitlane-py-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.ctl`,
  );
  const fd = openSync(path, 'w+', 0o600);
  ftruncateSync(fd, 16);
  return { fd, path };
}

/** The worker's control words: the sequence number of its current call and when it started (0: no call). */
export function readControl(control: { fd: number; buffer: Buffer }): { seq: bigint; start: bigint } | null {
  const { fd, buffer } = control;
  try {
    if (readSync(fd, buffer, 0, 16, 0) !== 16) return null;
  } catch {
    return null;
  }
  return LITTLE_ENDIAN
    ? { seq: buffer.readBigUInt64LE(0), start: buffer.readBigUInt64LE(8) }
    : { seq: buffer.readBigUInt64BE(0), start: buffer.readBigUInt64BE(8) };
}

/** Closes the control file's descriptor (once the worker is gone). */
export function closeControl(control: { fd: number }): void {
  try {
    closeSync(control.fd);
  } catch {
    // Already closed.
  }
}
