/**
 * One CPython worker process (`python3 pitlane_worker.py`) from spawn to SIGKILL: its channel on stdin/stdout (the
 * frames of wire.ts), its stderr (kept for crash messages), its control file (control-file.ts) and the per-item
 * timeout that reads it, its log records, and its end.
 *
 * Before running node code, the worker moves the channel to private descriptors and points its fd 1 at stderr, so
 * `print()` (which becomes log records), `os.write(1, ...)`, C libraries and subprocesses cannot corrupt it.
 *
 * Failures settle every promise: a worker that exits (crash, os._exit, a signal), writes something that is not a
 * frame, or runs an item longer than its timeout (SIGKILL) fails the item it was running
 * (`WorkerCrashed` / `WorkerProtocolError` / `WorkerTimeout`); the results it had sent still count, and the pool
 * (pool.ts) sends the batch's other items without a result to a new worker.
 * Each worker leads a process group of its own (a terminal's Ctrl-C reaches pitlane only, which decides what the
 * workers do); the group is SIGKILLed on timeout, when the worker exited (so nothing it started outlives it),
 * when close() overran its grace period, and when pitlane exits. If pitlane dies without running any code
 * (SIGKILL), the lifeline (src/process/lifeline.ts) ends the group: it is guarded from spawn until pitlane
 * SIGKILLs it; the worker also SIGKILLs its own group when it sees pitlane gone (belt and braces).
 */
import { PythonNodeInitError } from '../../core/errors.js';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, unlinkSync } from 'node:fs';
import { guardGroup, releaseGroup } from '../../process/lifeline.js';
import { pythonWorkerFile } from '../package-files.js';
import {
  CANCELLED,
  itemTimedOut,
  type PythonCallResult,
  type PythonException,
  type PythonLogRecord,
  type PythonNodeSource,
} from '../runtime.js';
import { closeControl, createControlFile } from './control-file.js';
import { ItemWatch } from './item-watch.js';
import { groupHasOthers } from './process-group.js';
import { LineRing } from './stderr-tail.js';
import {
  decodeValueBlock,
  emptyFrame,
  FrameReader,
  isException,
  K_BATCH,
  K_CLOSE,
  K_DONE,
  K_FLUSH,
  K_INIT_ERROR,
  K_LOG,
  K_READY,
  K_RESULTS,
  K_START,
  parseJson,
  ProtocolViolation,
  valueFrame,
} from './wire.js';

const DEFAULTS = {
  /** How long close() waits for a worker to exit after cleanup() returned, before SIGKILL. */
  exitGraceMs: 2_000,
  /** Lines of stderr kept per worker, for crash messages. */
  stderrLines: 50,
  /** Longest stderr line kept; longer output without a newline is split. */
  stderrLineChars: 1_000,
  /** How long to wait, after a worker exited, for the rest of its output (frames, stderr lines). */
  drainMs: 500,
  /** A frame longer than this is taken for garbage on the channel. */
  maxFrameBytes: 2 ** 31,
} as const;

/** How a worker failed, for the item it hit and for the warning. */
export interface WorkerFailure {
  /** The error of the item the worker was running. */
  readonly error: PythonException;
  /** What happened, for the warning that the state was lost. */
  readonly what: string;
}

/** The outcome of a request: every result, or the results that arrived before the worker failed. */
export type RequestOutcome =
  | { readonly complete: true; readonly results: PythonCallResult[] }
  | {
      readonly complete: false;
      /** Results of the first items, in order. */
      readonly results: PythonCallResult[];
      /** The item the worker was running when it failed (>= results.length). */
      readonly failedIndex: number;
      readonly failure: WorkerFailure;
    };

interface PendingRequest {
  readonly count: number;
  /** The worker's sequence number of the request's first call. */
  readonly firstSeq: number;
  readonly results: PythonCallResult[];
  readonly settle: (outcome: RequestOutcome) => void;
}

/** What the worker said when its node was ready. */
export interface ReadyInfo {
  readonly python: string;
  readonly flush: boolean;
  /** The worker's monotonic clock (ns) when it sent R. */
  readonly clock: string;
}

/** Everything a worker needs to know to start its node. */
export interface WorkerConfig {
  readonly source: PythonNodeSource;
  readonly python: string;
  readonly itemTimeoutMs: number;
  readonly onLog: (record: PythonLogRecord) => void;
  readonly onStderr: (text: string) => void;
}

/** Workers alive, for the SIGKILL at pitlane's exit. */
const liveWorkers = new Set<WorkerProcess>();
let exitHandlerInstalled = false;

function killAllWorkers(): void {
  for (const worker of liveWorkers) worker.kill();
}

/**
 * One `python3 pitlane_worker.py` process and its protocol state. Serves one request at a time (its slot queues
 * them). Once dead it stays dead; the slot starts another.
 */
export class WorkerProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly stderr = new LineRing(DEFAULTS.stderrLines, DEFAULTS.stderrLineChars);
  private readonly control: { fd: number; buffer: Buffer } | null;
  private readonly watch: ItemWatch;

  private readonly frames = new FrameReader(DEFAULTS.maxFrameBytes);

  private starting: { resolve: (info: ReadyInfo) => void; reject: (e: PythonNodeInitError) => void } | null =
    null;
  private pending: PendingRequest | null = null;
  private closing: (() => void) | null = null;
  private cleanupError: PythonException | null = null;
  private seq = 0;

  /** Why we killed the worker (timeout, protocol); null: it died on its own. */
  private killedFor: WorkerFailure | null = null;
  private spawnError: NodeJS.ErrnoException | null = null;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private finished = false;
  /** Resolves when the worker is gone and everything waiting on it has been settled. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(private readonly config: WorkerConfig) {
    const script = pythonWorkerFile('pitlane_worker.py');
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    let control: { fd: number; path: string } | null = null;
    try {
      control = createControlFile();
    } catch {
      // Without a control file, timeouts still work (a whole request is timed), only less precisely.
    }
    this.control = control === null ? null : { fd: control.fd, buffer: Buffer.alloc(16) };
    this.watch = new ItemWatch(this.control, config.itemTimeoutMs, {
      waiting: () => this.pending !== null && !this.dead,
      timedOut: (scope) => {
        const error = itemTimedOut(config.itemTimeoutMs);
        this.abort(error, `${scope} ${error.message}`);
      },
      silent: () => {
        this.protocolError(`no answer for ${config.itemTimeoutMs / 1000} s while no item was running`);
      },
    });
    const stdio: ('pipe' | number)[] = ['pipe', 'pipe', 'pipe'];
    if (control !== null) stdio.push(control.fd);
    try {
      this.child = spawn(config.python, [script], {
        stdio,
        detached: true,
      }) as ChildProcessWithoutNullStreams;
    } catch (e) {
      if (control !== null) closeSync(control.fd);
      throw e;
    } finally {
      if (control !== null) {
        try {
          unlinkSync(control.path);
        } catch {
          // Already gone: nothing to clean up.
        }
      }
    }
    if (this.child.pid !== undefined) guardGroup(this.child.pid);
    if (!exitHandlerInstalled) {
      exitHandlerInstalled = true;
      process.on('exit', killAllWorkers);
    }
    liveWorkers.add(this);

    const streamsEnded = (['stdout', 'stderr'] as const).map(
      (name) =>
        new Promise<void>((resolve) => {
          this.child[name].once('close', resolve);
          this.child[name].once('error', resolve);
        }),
    );
    this.child.stdin.on('error', () => undefined); // EPIPE once the worker is gone: its exit reports it
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.onStdout(chunk);
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (text: string) => {
      this.stderr.push(text);
      config.onStderr(text);
    });
    this.child.once('error', (e: NodeJS.ErrnoException) => {
      if (this.child.pid === undefined) {
        this.spawnError = e;
        this.finish();
      }
    });
    this.child.once('exit', (code, signal) => {
      this.exit = { code, signal };
      liveWorkers.delete(this);
      // Whatever the worker started goes with it (and releases the stderr pipe it may hold).
      this.killGroup();
      const drained = Promise.all(streamsEnded);
      const bounded = new Promise<void>((resolve) => setTimeout(resolve, DEFAULTS.drainMs).unref());
      void Promise.race([drained, bounded]).then(() => {
        this.finish();
      });
    });
  }

  /** True once the process has exited (or never started). */
  get dead(): boolean {
    return this.finished || this.exit !== null;
  }

  /** How the process ended, in words: "exit code 3", "signal SIGSEGV". */
  exitText(): string {
    if (this.exit === null) return 'unknown exit';
    return this.exit.code !== null
      ? `exit code ${this.exit.code}`
      : `signal ${this.exit.signal ?? 'unknown'}`;
  }

  /** Sends the node's source and waits until its class is instantiated and initialised. */
  start(): Promise<ReadyInfo> {
    const { source } = this.config;
    return new Promise((resolve, reject) => {
      if (this.finished) {
        reject(new PythonNodeInitError(source.nodeId, this.failure().error));
        return;
      }
      this.starting = { resolve, reject };
      this.write(
        valueFrame(K_START, {
          node: source.nodeId,
          file: source.fileName,
          code: source.code ?? null,
          path: source.modulePath ?? null,
          class: source.className,
          init: source.init,
        }),
      );
    });
  }

  /** Runs a batch (or the flush, as a request of one call); settles when every result arrived or the worker died. */
  request(kind: 'batch' | 'flush', items: readonly unknown[]): Promise<RequestOutcome> {
    // Throws (before anything is sent) for items JSON cannot carry: a BigInt, a cycle.
    const frame = kind === 'flush' ? emptyFrame(K_FLUSH) : valueFrame(K_BATCH, items);
    return new Promise((settle) => {
      if (this.dead) {
        settle({ complete: false, results: [], failedIndex: 0, failure: this.failure() });
        return;
      }
      const count = kind === 'flush' ? 1 : items.length;
      this.pending = { count, firstSeq: this.seq + 1, results: [], settle };
      this.seq += count;
      this.write(frame);
      this.watch.start(count);
    });
  }

  /**
   * Asks the worker to run cleanup() and exit; SIGKILLs it if cleanup() overruns the item timeout or the process
   * is still there `exitGraceMs` later. Resolves with cleanup()'s exception, if any, once the process is gone.
   */
  async close(): Promise<PythonException | null> {
    if (!this.dead) {
      const cleanedUp = new Promise<void>((resolve) => {
        this.closing = resolve;
      });
      this.write(emptyFrame(K_CLOSE));
      this.child.stdin.end();
      const timer = setTimeout(() => {
        this.kill();
      }, this.config.itemTimeoutMs);
      await Promise.race([cleanedUp, this.done]);
      clearTimeout(timer);
      const grace = setTimeout(() => {
        this.kill();
      }, DEFAULTS.exitGraceMs);
      await this.done;
      clearTimeout(grace);
    }
    await this.done;
    return this.cleanupError;
  }

  /**
   * Runs cleanup() and keeps the process for another run of the same node (see IdleWorkers). Resolves true when
   * the worker is healthy and idle; false when it had to be killed (cleanup failed, overran or the worker died).
   */
  async release(): Promise<boolean> {
    if (this.dead) return false;
    const cleanedUp = new Promise<void>((resolve) => {
      this.closing = resolve;
    });
    this.write(emptyFrame(K_CLOSE));
    const timer = setTimeout(() => {
      this.kill();
    }, this.config.itemTimeoutMs);
    await Promise.race([cleanedUp, this.done]);
    clearTimeout(timer);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- dead may change while awaiting
    const healthy = !this.dead && this.cleanupError === null;
    if (!healthy || (this.child.pid !== undefined && groupHasOthers(this.child.pid))) {
      this.kill();
      return false;
    }
    return true;
  }

  /** Whether an idle worker keeps pitlane's process alive (it must not: it may never be used again). */
  setReferenced(referenced: boolean): void {
    const handles = [this.child, this.child.stdin, this.child.stdout, this.child.stderr] as {
      ref?: () => void;
      unref?: () => void;
    }[];
    for (const h of handles) {
      if (referenced) h.ref?.();
      else h.unref?.();
    }
  }

  /** SIGKILL to the worker's process group (the worker and whatever it started). Synchronous. */
  kill(): void {
    if (this.exit === null) this.killGroup();
  }

  private killGroup(): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // ESRCH: the group is gone. The worker itself, if still there, is signalled directly.
      if (this.exit === null) this.child.kill('SIGKILL');
    }
    // SIGKILL is final: the lifeline need not (and, once the pgid is free, must not) signal the group again.
    releaseGroup(this.child.pid);
  }

  /** Cancellation: kills the worker if it is running a request; that request fails with CANCELLED. */
  cancel(): void {
    if (this.pending !== null && !this.dead) this.abort(CANCELLED, 'the run was cancelled');
  }

  /** Kills the worker for a reason of ours; the item it was running fails with `error`. */
  private abort(error: PythonException, what: string): void {
    if (this.killedFor !== null) return;
    this.killedFor = { error, what: `${what} (the worker was killed)` };
    this.kill();
  }

  private protocolError(detail: string): void {
    const message = `worker protocol error: ${detail}`;
    this.abort({ type: 'WorkerProtocolError', message, traceback: '' }, message);
  }

  private write(frame: Buffer): void {
    if (!this.dead) this.child.stdin.write(frame);
  }

  // -- incoming frames

  private onStdout(chunk: Buffer): void {
    if (this.killedFor?.error.type === 'WorkerProtocolError') return; // the stream is out of step: ignore the rest
    try {
      this.frames.push(chunk, this.onFrame);
    } catch (e) {
      if (!(e instanceof ProtocolViolation)) throw e;
      this.protocolError(e.message);
    }
  }

  private readonly onFrame = (kind: number, payload: Buffer): void => {
    switch (kind) {
      case K_RESULTS:
        this.onResults(decodeValueBlock(payload));
        return;
      case K_LOG: {
        const record = parseJson(payload.toString('utf8'));
        if (!Array.isArray(record) || typeof record[0] !== 'string' || typeof record[1] !== 'string') {
          throw new ProtocolViolation('a malformed log record');
        }
        try {
          this.config.onLog({
            nodeId: this.config.source.nodeId,
            level: logLevel(record[0]),
            message: record[1],
          });
        } catch {
          // A log sink that throws must not break the channel: the record is lost, the frames after it are not.
        }
        return;
      }
      case K_READY: {
        const info = parseJson(payload.toString('utf8')) as ReadyInfo;
        if (this.starting === null) throw new ProtocolViolation('a ready message out of turn');
        try {
          this.watch.clockOffset = process.hrtime.bigint() - BigInt(info.clock);
        } catch {
          throw new ProtocolViolation('a ready message without a clock');
        }
        const { resolve } = this.starting;
        this.starting = null;
        resolve(info);
        return;
      }
      case K_INIT_ERROR: {
        const error = parseJson(payload.toString('utf8'));
        if (this.starting === null || !isException(error)) {
          throw new ProtocolViolation('a malformed or unexpected init error');
        }
        const { reject } = this.starting;
        this.starting = null;
        reject(new PythonNodeInitError(this.config.source.nodeId, error));
        return;
      }
      case K_DONE: {
        const done = parseJson(payload.toString('utf8')) as { error?: unknown };
        if (isException(done.error)) this.cleanupError = done.error;
        this.closing?.();
        this.closing = null;
        return;
      }
      default:
        throw new ProtocolViolation(`unexpected frame kind 0x${kind.toString(16)}`);
    }
  };

  private onResults(value: unknown): void {
    const pending = this.pending;
    if (pending === null) throw new ProtocolViolation('results without a request');
    if (!Array.isArray(value)) throw new ProtocolViolation('results that are not an array');
    const { results } = pending;
    if (results.length + value.length > pending.count) throw new ProtocolViolation('more results than items');
    for (const r of value as unknown[]) {
      if (Array.isArray(r)) results.push({ ok: true, outputs: r as unknown[] });
      else if (isException(r)) {
        results.push({ ok: false, error: { type: r.type, message: r.message, traceback: r.traceback } });
      } else throw new ProtocolViolation('a malformed result');
    }
    if (results.length === pending.count) {
      this.pending = null;
      this.watch.stop();
      pending.settle({ complete: true, results });
    }
  }

  // -- the end

  private failure(): WorkerFailure {
    if (this.killedFor !== null) return this.killedFor;
    if (this.spawnError !== null) {
      const code = this.spawnError.code ?? 'error';
      const message = `could not start the Python interpreter '${this.config.python}' (${code}): install Python 3.9 or later, or name one with PITLANE_PYTHON`;
      return { error: { type: 'WorkerStartError', message, traceback: '' }, what: message };
    }
    const tail = this.stderr.tail();
    const what = `worker crashed (${this.exitText()})`;
    const message = tail === '' ? what : `${what}: ${tail}`;
    return { error: { type: 'WorkerCrashed', message, traceback: '' }, what };
  }

  /** After the process is gone and its output drained: settles whatever still waits on it. */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.watch.stop();
    liveWorkers.delete(this);
    const failure = this.failure();
    if (this.starting !== null) {
      this.starting.reject(new PythonNodeInitError(this.config.source.nodeId, failure.error));
      this.starting = null;
    }
    const pending = this.pending;
    if (pending !== null) {
      this.pending = null;
      const received = pending.results.length;
      let failedIndex = received;
      // The control words tell which item a crash or a timeout hit; garbage on the channel says nothing about
      // when it was written, so it fails the first item without a result.
      const reading = this.killedFor?.error.type === 'WorkerProtocolError' ? null : this.watch.read();
      if (reading !== null && reading.start !== 0n) {
        const index = Number(reading.seq) - pending.firstSeq;
        if (index >= received && index < pending.count) failedIndex = index;
      }
      pending.settle({ complete: false, results: pending.results, failedIndex, failure });
    }
    this.closing?.();
    this.closing = null;
    if (this.control !== null) closeControl(this.control);
    this.resolveDone();
  }
}

function logLevel(level: string): PythonLogRecord['level'] {
  switch (level) {
    case 'debug':
    case 'info':
    case 'warning':
    case 'error':
    case 'critical':
      return level;
    default:
      return 'info';
  }
}
