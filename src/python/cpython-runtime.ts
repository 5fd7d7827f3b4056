/**
 * The CPython runtime of `python` nodes (docs/python-nodes.md): a node's class runs in a persistent `python3`
 * worker process (src/python/worker/pitlane_worker.py), or in a small pool of them for a stateless node. This
 * module owns those processes from spawn to SIGKILL: the binary protocol on their stdin/stdout, per-item
 * timeouts, crash recovery (a new worker for the rest of the batch), log records, and cleanup at close.
 *
 * Protocol (the worker's module docstring is the reference): frames of a 4-byte big-endian payload length, a
 * 1-byte kind and the payload. pitlane sends S(tart), B(atch), F(lush), C(lose); the worker answers R(eady) or
 * I(nit error), r(esults), L(og) and D(one). Values travel as a value block: the length of a UTF-8 JSON text,
 * the text, then the raw bytes of every binary value, which the JSON refers to as {"\u0000b": [offset, length]}
 * (an object of the data with exactly one such key is escaped as {"\u0000o": object}). Both sides look for those
 * markers only when the text contains `\u0000`, so plain JSON costs one substring search per frame. Before
 * running node code, the worker moves the channel to private descriptors and points its fd 1 at stderr, so
 * `print()` (which becomes log records), `os.write(1, ...)`, C libraries and subprocesses cannot corrupt it.
 *
 * Hot path: one write per batch, one JSON.stringify per batch and one JSON.parse per results frame, no base64;
 * no per-item message and no per-item system call on either side. Per-item progress goes through a 16-byte
 * memory-mapped control file instead (the worker's fd 3): the worker stores the sequence number and start time
 * of the call it is running; this side reads the file only when a timer fires (at most once per timeout period)
 * and when a worker died, which finds a hung item within its timeout and tells which item a crash hit.
 *
 * Failures settle every promise: a worker that exits (crash, os._exit, a signal), writes something that is not a
 * frame, or runs an item longer than its timeout (SIGKILL) fails the item it was running
 * (`WorkerCrashed` / `WorkerProtocolError` / `WorkerTimeout`); the results it had sent still count, and the
 * batch's other items without a result (including any it finished but had not reported yet) go to a new worker:
 * its class is initialised again, and a warning says that the node's state was lost.
 * Each worker leads a process group of its own (a terminal's Ctrl-C reaches pitlane only, which decides what the
 * workers do); the group is SIGKILLed on timeout, when the worker exited (so nothing it started outlives it),
 * when close() overran its grace period, and when pitlane exits. If pitlane dies without running any code
 * (SIGKILL), the lifeline (src/process/lifeline.ts) ends the group: it is guarded from spawn until pitlane
 * SIGKILLs it; the worker also SIGKILLs its own group when it sees pitlane gone (belt and braces).
 *
 * Written here rather than taken from a library: the Node packages that drive Python processes (python-shell
 * and the like) exchange text lines of JSON, with no binary values, batching or per-item timeouts.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import {
  closeSync,
  existsSync,
  ftruncateSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  unlinkSync,
} from 'node:fs';
import { endianness, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { guardGroup, releaseGroup } from '../process/lifeline.js';
import {
  PythonNodeInitError,
  type PythonCallResult,
  type PythonException,
  type PythonLogRecord,
  type PythonNodeInstance,
  type PythonNodeSource,
  type PythonRuntimeOptions,
} from './runtime.js';

/** Options of the CPython runtime. */
export interface CPythonRuntimeOptions extends PythonRuntimeOptions {
  /** The interpreter to run (default: `$PITLANE_PYTHON`, else `python3` on the PATH). */
  readonly python?: string;
  /** Longest a single `process` or `flush` call may run before its worker is killed (default 30 000 ms). */
  readonly itemTimeoutMs?: number;
  /** Number of workers (default 1). Give more than 1 only for a stateless node: each has its own instance. */
  readonly poolSize?: number;
  /** Receives what the workers write on stderr (default: copied to pitlane's stderr). */
  readonly onStderr?: (text: string) => void;
  /**
   * The run's cancellation (Ctrl-C): a worker running an item is killed, and that item and the rest of its batch
   * fail as `Cancelled`, so the drain does not wait for the item's timeout. The node's state is lost with the worker.
   */
  readonly signal?: AbortSignal;
}

const DEFAULTS = {
  itemTimeoutMs: 30_000,
  poolSize: 1,
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

// Frame kinds (ASCII letters, readable in a hex dump).
const K_START = 0x53; // S
const K_BATCH = 0x42; // B
const K_FLUSH = 0x46; // F
const K_CLOSE = 0x43; // C
const K_READY = 0x52; // R
const K_INIT_ERROR = 0x49; // I
const K_RESULTS = 0x72; // r
const K_LOG = 0x4c; // L
const K_DONE = 0x44; // D
const HEADER_BYTES = 5;

const BIN_KEY = '\u0000b';
const ESC_KEY = '\u0000o';
const MARKER_ESCAPE = '\\u0000';

/** Where the worker program is: found from the package root, so that it works from dist/ and from a bundle. */
let workerScript: string | null = null;

function findWorkerScript(): string {
  if (workerScript !== null) return workerScript;
  const found = findPackageRoot();
  const script = join(found, 'src', 'python', 'worker', 'pitlane_worker.py');
  if (!existsSync(script)) throw new Error(`the Python worker program is missing: ${script}`);
  workerScript = script;
  return script;
}

function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown };
        if (pkg.name === 'pitlane') return dir;
      } catch {
        // Not a readable package.json: keep walking up.
      }
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('cannot find the pitlane package root (package.json named "pitlane")');
    dir = parent;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Values

/** Whether a value contains binary data (which JSON.stringify cannot carry). */
function containsBinary(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (value instanceof Uint8Array) return true;
  if (Array.isArray(value)) {
    for (const v of value) if (containsBinary(v)) return true;
    return false;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  for (const v of Object.values(value)) if (containsBinary(v)) return true;
  return false;
}

/** A copy of `value` with binary data replaced by markers (bytes appended to `segments`) and marker keys escaped. */
function toWire(value: unknown, segments: { parts: Uint8Array[]; size: number }): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Uint8Array) {
    const ref = { [BIN_KEY]: [segments.size, value.byteLength] };
    segments.parts.push(value);
    segments.size += value.byteLength;
    return ref;
  }
  if (Array.isArray(value)) return value.map((v: unknown) => toWire(v, segments));
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  const out: Record<string, unknown> = {};
  const keys = Object.keys(value);
  for (const key of keys) out[key] = toWire((value as Record<string, unknown>)[key], segments);
  return keys.length === 1 && (keys[0] === BIN_KEY || keys[0] === ESC_KEY) ? { [ESC_KEY]: out } : out;
}

/** A frame whose payload is a value block of `value`. */
function valueFrame(kind: number, value: unknown): Buffer {
  let json: string | undefined;
  let parts: readonly Uint8Array[] = [];
  let binaryBytes = 0;
  if (!containsBinary(value)) {
    json = JSON.stringify(value);
    if (json.includes(MARKER_ESCAPE)) json = undefined;
  }
  if (json === undefined) {
    const segments = { parts: [] as Uint8Array[], size: 0 };
    json = JSON.stringify(toWire(value, segments));
    parts = segments.parts;
    binaryBytes = segments.size;
  }
  const jsonBytes = Buffer.byteLength(json);
  const payloadBytes = 4 + jsonBytes + binaryBytes;
  if (payloadBytes > 0xffff_ffff) throw new RangeError('a message to the Python worker is larger than 4 GiB');
  const frame = Buffer.allocUnsafe(HEADER_BYTES + payloadBytes);
  frame.writeUInt32BE(payloadBytes, 0);
  frame[4] = kind;
  frame.writeUInt32BE(jsonBytes, 5);
  frame.write(json, 9, 'utf8');
  let offset = 9 + jsonBytes;
  for (const part of parts) {
    frame.set(part, offset);
    offset += part.byteLength;
  }
  return frame;
}

function emptyFrame(kind: number): Buffer {
  const frame = Buffer.alloc(HEADER_BYTES);
  frame[4] = kind;
  return frame;
}

/** Something on the channel that breaks the protocol. */
class ProtocolViolation extends Error {}

/** The value of a value block; binary values become Buffers (copies, not views of the frame). */
function decodeValueBlock(payload: Buffer): unknown {
  if (payload.length < 4) throw new ProtocolViolation('a value block shorter than its length field');
  const jsonBytes = payload.readUInt32BE(0);
  if (4 + jsonBytes > payload.length) throw new ProtocolViolation('a value block shorter than its JSON text');
  const text = payload.toString('utf8', 4, 4 + jsonBytes);
  const value = parseJson(text);
  return text.includes(MARKER_ESCAPE) ? fromWire(value, payload.subarray(4 + jsonBytes)) : value;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ProtocolViolation(`a frame that is not JSON: ${preview(Buffer.from(text))}`);
  }
}

function fromWire(value: unknown, area: Buffer): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v: unknown) => fromWire(v, area));
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 1) {
    const ref = record[BIN_KEY];
    if (ref !== undefined) {
      const [offset, length] = Array.isArray(ref) ? (ref as unknown[]) : [];
      if (typeof offset !== 'number' || typeof length !== 'number' || offset + length > area.length) {
        throw new ProtocolViolation('a binary value outside its frame');
      }
      return Buffer.from(area.subarray(offset, offset + length));
    }
    const escaped = record[ESC_KEY];
    if (escaped !== undefined) return mapValues(escaped as Record<string, unknown>, area);
  }
  return mapValues(record, area);
}

function mapValues(record: Record<string, unknown>, area: Buffer): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record)) out[key] = fromWire(record[key], area);
  return out;
}

/** The first bytes of unexpected data, for an error message. */
function preview(data: Buffer): string {
  const head = data.subarray(0, 32).toString('latin1');
  return JSON.stringify(data.length > 32 ? `${head}...` : head);
}

function isException(value: unknown): value is PythonException {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.type === 'string' && typeof v.message === 'string' && typeof v.traceback === 'string';
}

// ---------------------------------------------------------------------------------------------------------------
// One worker process

/** How a worker failed, for the item it hit and for the warning. */
interface WorkerFailure {
  /** The error of the item the worker was running. */
  readonly error: PythonException;
  /** What happened, for the warning that the state was lost. */
  readonly what: string;
}

/** The outcome of a request: every result, or the results that arrived before the worker failed. */
type RequestOutcome =
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
interface ReadyInfo {
  readonly python: string;
  readonly flush: boolean;
  /** The worker's monotonic clock (ns) when it sent R. */
  readonly clock: string;
}

/** Everything a worker needs to know to start its node. */
interface WorkerConfig {
  readonly source: PythonNodeSource;
  readonly python: string;
  readonly itemTimeoutMs: number;
  readonly onLog: (record: PythonLogRecord) => void;
  readonly onStderr: (text: string) => void;
}

/** What an item interrupted by the run's cancellation fails with (the same words as in Pyodide). */
const CANCELLED: PythonException = {
  type: 'Cancelled',
  message: 'cancelled: the run was interrupted',
  traceback: '',
};

/** Workers alive, for the SIGKILL at pitlane's exit. */
const liveWorkers = new Set<WorkerProcess>();
let exitHandlerInstalled = false;

function killAllWorkers(): void {
  for (const worker of liveWorkers) worker.kill();
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** A 16-byte control file for a new worker; unlinked once the worker has it. */
function createControlFile(): { fd: number; path: string } {
  const dir = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const path = join(
    dir,
    `pitlane-py-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.ctl`,
  );
  const fd = openSync(path, 'w+', 0o600);
  ftruncateSync(fd, 16);
  return { fd, path };
}

/** A ring of the last lines a worker wrote on stderr. */
class LineRing {
  private readonly lines: string[] = [];
  private partial = '';

  push(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const part of parts) this.add(part);
    while (this.partial.length > DEFAULTS.stderrLineChars) {
      this.add(this.partial.slice(0, DEFAULTS.stderrLineChars));
      this.partial = this.partial.slice(DEFAULTS.stderrLineChars);
    }
  }

  private add(line: string): void {
    this.lines.push(line.slice(0, DEFAULTS.stderrLineChars));
    if (this.lines.length > DEFAULTS.stderrLines) this.lines.shift();
  }

  tail(): string {
    return [...this.lines, ...(this.partial === '' ? [] : [this.partial])].join('\n').trim();
  }
}

/**
 * One `python3 pitlane_worker.py` process and its protocol state. Serves one request at a time (its slot queues
 * them). Once dead it stays dead; the slot starts another.
 */
class WorkerProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly stderr = new LineRing();
  private readonly control: { fd: number; buffer: Buffer } | null;
  private readonly timeoutNs: bigint;

  // Incoming frames: chunks not yet parsed, and how many bytes the next step needs.
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need = HEADER_BYTES;

  private starting: { resolve: (info: ReadyInfo) => void; reject: (e: PythonNodeInitError) => void } | null =
    null;
  private pending: PendingRequest | null = null;
  private closing: (() => void) | null = null;
  private cleanupError: PythonException | null = null;
  private seq = 0;
  /** Our hrtime minus the worker's monotonic clock, measured when it was ready. */
  private clockOffset = 0n;

  private watchTimer: NodeJS.Timeout | null = null;
  private lastSeen = { seq: -1n, start: -1n, at: 0n };

  /** Why we killed the worker (timeout, protocol); null: it died on its own. */
  private killedFor: WorkerFailure | null = null;
  private spawnError: NodeJS.ErrnoException | null = null;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private finished = false;
  /** Resolves when the worker is gone and everything waiting on it has been settled. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(private readonly config: WorkerConfig) {
    this.timeoutNs = BigInt(Math.round(config.itemTimeoutMs * 1e6));
    const script = findWorkerScript();
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
      this.lastSeen = { seq: -1n, start: -1n, at: 0n };
      this.armWatch(this.config.itemTimeoutMs * (this.control === null ? count : 1));
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
    if (this.dead || this.cleanupError !== null || this.groupHasOthers()) {
      this.kill();
      return false;
    }
    return true;
  }

  /** Whether anything besides the worker lives in its process group (a subprocess the node left running). */
  private groupHasOthers(): boolean {
    const self = this.child.pid;
    if (self === undefined) return false;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry) || Number(entry) === self) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[2]) === self && fields[0] !== 'Z') return true;
      } catch {
        // The process ended meanwhile.
      }
    }
    return false;
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
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < this.need) return;
    const data = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, this.buffered);
    let offset = 0;
    this.need = HEADER_BYTES;
    try {
      while (data.length - offset >= HEADER_BYTES) {
        const size = data.readUInt32BE(offset);
        const kind = data[offset + 4] ?? 0;
        if (!isWorkerFrameKind(kind) || size > DEFAULTS.maxFrameBytes) {
          throw new ProtocolViolation(`unexpected data on the channel: ${preview(data.subarray(offset))}`);
        }
        if (data.length - offset - HEADER_BYTES < size) {
          this.need = HEADER_BYTES + size;
          break;
        }
        const payload = data.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + size);
        offset += HEADER_BYTES + size;
        this.onFrame(kind, payload);
      }
    } catch (e) {
      if (!(e instanceof ProtocolViolation)) throw e;
      this.chunks = [];
      this.buffered = 0;
      this.protocolError(e.message);
      return;
    }
    this.chunks = offset === data.length ? [] : [data.subarray(offset)];
    this.buffered = data.length - offset;
  }

  private onFrame(kind: number, payload: Buffer): void {
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
          this.clockOffset = process.hrtime.bigint() - BigInt(info.clock);
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
  }

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
      this.stopWatch();
      pending.settle({ complete: true, results });
    }
  }

  // -- the per-item timeout

  private armWatch(delayMs: number): void {
    this.stopWatch();
    this.watchTimer = setTimeout(this.onWatch, Math.max(1, Math.ceil(delayMs)));
  }

  private stopWatch(): void {
    if (this.watchTimer !== null) clearTimeout(this.watchTimer);
    this.watchTimer = null;
  }

  /** The worker's control words: the sequence number of its current call and when it started (0: no call). */
  private readControl(): { seq: bigint; start: bigint } | null {
    if (this.control === null) return null;
    const { fd, buffer } = this.control;
    try {
      if (readSync(fd, buffer, 0, 16, 0) !== 16) return null;
    } catch {
      return null;
    }
    return LITTLE_ENDIAN
      ? { seq: buffer.readBigUInt64LE(0), start: buffer.readBigUInt64LE(8) }
      : { seq: buffer.readBigUInt64BE(0), start: buffer.readBigUInt64BE(8) };
  }

  /**
   * Timer: a reading of the control words that has not changed since the previous wake-up, and whose call began
   * at least a timeout ago, is a hung item. A reading seen for the first time re-arms the timer for the moment
   * that call reaches its timeout, so detection comes within ~1 ms of it. Without a call running (the worker
   * between items, or gone quiet), the same reading over a whole timeout means the worker stopped answering.
   */
  private readonly onWatch = (): void => {
    this.watchTimer = null;
    if (this.pending === null || this.dead) return;
    const now = process.hrtime.bigint();
    const reading = this.readControl();
    const timeoutText = `timed out after ${this.config.itemTimeoutMs / 1000} s`;
    if (reading === null) {
      // No control file: the request as a whole gets one timeout per item.
      this.abort({ type: 'WorkerTimeout', message: timeoutText, traceback: '' }, `a batch ${timeoutText}`);
      return;
    }
    const same = reading.seq === this.lastSeen.seq && reading.start === this.lastSeen.start;
    if (!same) this.lastSeen = { ...reading, at: now };
    if (reading.start !== 0n) {
      const deadline = reading.start + this.clockOffset + this.timeoutNs;
      if (same && now >= deadline) {
        this.abort({ type: 'WorkerTimeout', message: timeoutText, traceback: '' }, `an item ${timeoutText}`);
        return;
      }
      this.armWatch(Number(deadline - now) / 1e6);
      return;
    }
    if (same && now - this.lastSeen.at >= this.timeoutNs) {
      this.protocolError(`no answer for ${this.config.itemTimeoutMs / 1000} s while no item was running`);
      return;
    }
    this.armWatch(this.config.itemTimeoutMs);
  };

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
    this.stopWatch();
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
      const reading = this.killedFor?.error.type === 'WorkerProtocolError' ? null : this.readControl();
      if (reading !== null && reading.start !== 0n) {
        const index = Number(reading.seq) - pending.firstSeq;
        if (index >= received && index < pending.count) failedIndex = index;
      }
      pending.settle({ complete: false, results: pending.results, failedIndex, failure });
    }
    this.closing?.();
    this.closing = null;
    if (this.control !== null) {
      try {
        closeSync(this.control.fd);
      } catch {
        // Already closed.
      }
    }
    this.resolveDone();
  }
}

/** Why an item cannot be sent to Python (JSON.stringify throws for BigInt values and cycles), or null. */
function encodingProblem(item: unknown): PythonException | null {
  try {
    JSON.stringify(item); // names the problem better than a stack overflow in containsBinary() would
    valueFrame(K_BATCH, [item]);
    return null;
  } catch (e) {
    const message = `cannot send this item to a Python node: ${e instanceof Error ? e.message : String(e)}`;
    return { type: 'TypeError', message, traceback: '' };
  }
}

/** A failure to start a worker as the PythonNodeInitError start() promises. */
function asInitError(nodeId: string, e: unknown): PythonNodeInitError {
  if (e instanceof PythonNodeInitError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new PythonNodeInitError(nodeId, { type: 'WorkerStartError', message, traceback: '' });
}

function isWorkerFrameKind(kind: number): boolean {
  return kind === K_RESULTS || kind === K_LOG || kind === K_READY || kind === K_INIT_ERROR || kind === K_DONE;
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

// ---------------------------------------------------------------------------------------------------------------
// A worker slot: one worker at a time, restarted after a failure

/**
 * A place for one worker: queues requests (one at a time, in order), starts a new worker when the previous one
 * died, and re-sends the items a failed worker did not finish.
 */
/**
 * Idle workers, kept for the next run of the same node in this process (a server running pipelines, a benchmark):
 * starting a worker costs 40–100 ms; reusing one costs a fresh module and a fresh instance of the class (state
 * does not carry over), with the libraries it imported still loaded. Only a worker that ran exactly the same
 * node definition (source, class, init, file name, interpreter, timeout) is reused. Idle workers do not keep
 * pitlane running and are killed after a minute unused.
 */
const IDLE_MS = 60_000;
const idleWorkers = new Map<string, { worker: WorkerProcess; timer: NodeJS.Timeout }[]>();

function workerKey(config: WorkerConfig): string {
  const { source } = config;
  return JSON.stringify([
    config.python,
    config.itemTimeoutMs,
    source.fileName,
    source.code ?? null,
    source.modulePath ?? null,
    source.className,
    source.init,
  ]);
}

function takeIdleWorker(config: WorkerConfig): WorkerProcess | null {
  const list = idleWorkers.get(workerKey(config));
  while (list !== undefined && list.length > 0) {
    const entry = list.pop();
    if (entry === undefined) break;
    clearTimeout(entry.timer);
    if (!entry.worker.dead) {
      entry.worker.setReferenced(true);
      return entry.worker;
    }
  }
  return null;
}

function keepIdleWorker(config: WorkerConfig, worker: WorkerProcess): void {
  worker.setReferenced(false);
  const key = workerKey(config);
  const list = idleWorkers.get(key) ?? [];
  const timer = setTimeout(() => {
    const at = list.findIndex((e) => e.worker === worker);
    if (at >= 0) list.splice(at, 1);
    worker.kill();
  }, IDLE_MS);
  timer.unref();
  list.push({ worker, timer });
  idleWorkers.set(key, list);
}

class WorkerSlot {
  private worker: WorkerProcess | null = null;
  /** Set when a replacement worker could not start its node: every later item fails with this. */
  private broken: PythonException | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  /** Whether the class defines flush() (known after the first start). */
  hasFlush = true;

  constructor(
    private readonly config: WorkerConfig,
    private readonly warn: (message: string) => void,
    private readonly signal: AbortSignal | undefined,
  ) {
    signal?.addEventListener('abort', () => this.worker?.cancel(), { once: true });
  }

  /** Starts the first worker; rejects with PythonNodeInitError. */
  async start(): Promise<void> {
    let worker: WorkerProcess | null = null;
    try {
      worker = takeIdleWorker(this.config) ?? new WorkerProcess(this.config);
      this.worker = worker;
      const info = await worker.start();
      this.hasFlush = info.flush;
    } catch (e) {
      this.worker = null;
      if (worker !== null) {
        worker.kill();
        await worker.done;
      }
      throw asInitError(this.config.source.nodeId, e);
    }
  }

  processBatch(items: readonly unknown[]): Promise<PythonCallResult[]> {
    return this.enqueue(() => this.run('batch', items));
  }

  async flush(): Promise<PythonCallResult> {
    if (!this.hasFlush) return { ok: true, outputs: [] };
    const [result] = await this.enqueue(() => this.run('flush', [undefined]));
    return result ?? { ok: true, outputs: [] };
  }

  /** Runs cleanup() on the worker, if it is alive, and waits until it is gone. Never rejects. */
  close(): Promise<void> {
    return this.enqueue(async () => {
      const worker = this.worker;
      this.worker = null;
      if (worker === null) return;
      if (await worker.release()) {
        keepIdleWorker(this.config, worker);
        return;
      }
      const error = await worker.close();
      if (error !== null) this.warn(`cleanup() failed: ${error.type}: ${error.message}`);
    }).catch(() => undefined);
  }

  /** SIGKILL now (for a start that failed elsewhere in the pool). */
  kill(): void {
    this.worker?.kill();
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(kind: 'batch' | 'flush', items: readonly unknown[]): Promise<PythonCallResult[]> {
    const results: (PythonCallResult | undefined)[] = new Array<PythonCallResult | undefined>(items.length);
    let todo: number[] | null = null; // null: all items, in order
    let count = items.length;
    while (count > 0) {
      const worker = await this.liveWorker();
      const indices = todo;
      if (!(worker instanceof WorkerProcess)) {
        for (let j = 0; j < count; j++) results[indices === null ? j : (indices[j] as number)] = worker;
        break;
      }
      const at = (j: number): number => (indices === null ? j : (indices[j] as number));
      let outcome: RequestOutcome;
      try {
        outcome = await worker.request(kind, indices === null ? items : indices.map((i) => items[i]));
      } catch (e) {
        // Some item cannot be encoded: those fail, the others are sent again.
        const rest: number[] = [];
        for (let j = 0; j < count; j++) {
          const problem = encodingProblem(items[at(j)]);
          if (problem === null) rest.push(at(j));
          else results[at(j)] = { ok: false, error: problem };
        }
        if (rest.length === count) throw e;
        todo = rest;
        count = rest.length;
        continue;
      }
      outcome.results.forEach((r, j) => {
        results[at(j)] = r;
      });
      if (outcome.complete) break;
      const { failedIndex, failure } = outcome;
      results[at(failedIndex)] = { ok: false, error: failure.error };
      this.worker = null;
      if (failure.error === CANCELLED) {
        // Cancelled: the rest of the batch is not run; a later flush starts a new worker.
        for (let j = outcome.results.length; j < count; j++)
          if (j !== failedIndex) results[at(j)] = { ok: false, error: CANCELLED };
        break;
      }
      this.warn(`${failure.what}; a new worker takes over and the node's state is lost`);
      const rest: number[] = [];
      for (let j = outcome.results.length; j < count; j++) if (j !== failedIndex) rest.push(at(j));
      todo = rest;
      count = rest.length;
    }
    return results as PythonCallResult[];
  }

  /** The worker, alive, or a new one; or the error that a replacement could not start with. */
  private async liveWorker(): Promise<WorkerProcess | { ok: false; error: PythonException }> {
    if (this.broken !== null) return { ok: false, error: this.broken };
    if (this.worker !== null && !this.worker.dead) return this.worker;
    if (this.worker !== null) {
      this.warn(
        `the worker exited between batches (${this.worker.exitText()}); a new worker takes over and the node's state is lost`,
      );
    }
    let worker: WorkerProcess | null = null;
    try {
      worker = new WorkerProcess(this.config);
      this.worker = worker;
      await worker.start();
      return worker;
    } catch (e) {
      this.worker = null;
      worker?.kill();
      const reason = asInitError(this.config.source.nodeId, e).exception;
      this.broken = { ...reason, message: `a new worker could not start the node: ${reason.message}` };
      return { ok: false, error: this.broken };
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The node instance

class CPythonNode implements PythonNodeInstance {
  readonly runtime = 'cpython' as const;
  private readonly slots: WorkerSlot[];
  private state: 'new' | 'starting' | 'started' | 'closed' = 'new';
  /** The slot the next batch starts at (round robin). */
  private next = 0;

  constructor(source: PythonNodeSource, options: CPythonRuntimeOptions) {
    const onWarning =
      options.onWarning ??
      ((id: string, message: string) => {
        process.stderr.write(`[python:${id}] WARNING ${message}\n`);
      });
    const config: WorkerConfig = {
      source,
      python: options.python ?? process.env.PITLANE_PYTHON ?? 'python3',
      itemTimeoutMs: options.itemTimeoutMs ?? DEFAULTS.itemTimeoutMs,
      onLog:
        options.onLog ??
        ((r) => {
          process.stderr.write(`[python:${r.nodeId}] ${r.level.toUpperCase()} ${r.message}\n`);
        }),
      onStderr:
        options.onStderr ??
        ((text) => {
          process.stderr.write(text);
        }),
    };
    const size = Math.max(1, Math.floor(options.poolSize ?? DEFAULTS.poolSize));
    this.slots = Array.from(
      { length: size },
      () =>
        new WorkerSlot(
          config,
          (message) => {
            onWarning(source.nodeId, message);
          },
          options.signal,
        ),
    );
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('start() was already called');
    this.state = 'starting';
    const outcomes = await Promise.allSettled(this.slots.map((slot) => slot.start()));
    const failed = outcomes.find((o) => o.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(this.slots.map((slot) => slot.close()));
      this.state = 'closed';
      throw failed.reason;
    }
    this.state = 'started';
  }

  async processBatch(items: readonly unknown[]): Promise<PythonCallResult[]> {
    this.assertStarted();
    if (items.length === 0) return [];
    const n = this.slots.length;
    if (n === 1) return (this.slots[0] as WorkerSlot).processBatch(items);
    // A pool: contiguous chunks on consecutive slots, results concatenated in order.
    const chunks = Math.min(n, items.length);
    const size = Math.ceil(items.length / chunks);
    const parts: Promise<PythonCallResult[]>[] = [];
    for (let start = 0, k = 0; start < items.length; start += size, k++) {
      parts.push(
        (this.slots[(this.next + k) % n] as WorkerSlot).processBatch(items.slice(start, start + size)),
      );
    }
    this.next = (this.next + parts.length) % n;
    return (await Promise.all(parts)).flat();
  }

  async flush(): Promise<PythonCallResult> {
    this.assertStarted();
    const results = await Promise.all(this.slots.map((slot) => slot.flush()));
    const failed = results.find((r) => !r.ok);
    if (failed !== undefined) return failed;
    return { ok: true, outputs: results.flatMap((r) => (r.ok ? r.outputs : [])) };
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    await Promise.all(this.slots.map((slot) => slot.close()));
  }

  private assertStarted(): void {
    if (this.state !== 'started') {
      throw new Error(
        this.state === 'closed' ? 'the Python node is closed' : 'start() the Python node first',
      );
    }
  }
}

/**
 * A node's class on CPython worker processes: `start()` spawns the worker(s) and instantiates the class; see
 * PythonNodeInstance for the rest. A pool (`poolSize` > 1) is for stateless nodes only: each batch is split into
 * contiguous chunks over the workers, and the results come back in order.
 */
export function createCPythonNode(
  source: PythonNodeSource,
  options: CPythonRuntimeOptions,
): PythonNodeInstance {
  return new CPythonNode(source, options);
}
