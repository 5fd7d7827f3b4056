/**
 * The entry point of every inference thread (see thread-host.ts): loads the service its workerData names from
 * THREAD_SERVICES, says `ready` (or `loadError`, naming the file), then answers each call by id, transferring
 * the buffers the service hands back, until `close`. The services are imported only on the thread that runs
 * them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FileError, InferenceInputError, PitlaneError } from '../../core/errors.js';
import type {
  HostMessage,
  ThreadMessage,
  ThreadServiceLoader,
  ThreadServiceName,
  ThreadWorkerData,
} from './thread-protocol.js';

/** The services a thread can run, by name. */
const THREAD_SERVICES: Readonly<Record<ThreadServiceName, () => Promise<ThreadServiceLoader>>> =
  Object.freeze({
    embedder: async () => (await import('../text/thread-embedder.js')).embedderThreadService,
    'tensor-model': async () => (await import('../tensor/thread-tensor-model.js')).tensorModelThreadService,
    tokenizer: async () => (await import('../text/tokenizer-pool.js')).tokenizerThreadService,
  });

const port = parentPort;
if (port === null) throw new Error('thread-worker.js runs on a worker thread');

const { service: name, init } = workerData as ThreadWorkerData;
try {
  const service = await (await THREAD_SERVICES[name]())(init);
  port.postMessage({ kind: 'ready', ready: service.ready } satisfies ThreadMessage);
  port.on('message', (m: HostMessage) => {
    void (async () => {
      if (m.kind === 'close') {
        await service.close();
        port.close();
        return;
      }
      try {
        const answer = await service.handle(m.method, m.args);
        const reply: ThreadMessage = { kind: 'result', id: m.id, value: answer.value };
        port.postMessage(reply, [...new Set(answer.transfer ?? [])]);
      } catch (err) {
        const reply: ThreadMessage = {
          kind: 'error',
          id: m.id,
          message: err instanceof Error ? err.message : String(err),
          input: err instanceof InferenceInputError,
        };
        port.postMessage(reply);
      }
    })();
  });
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  const reply: ThreadMessage = {
    kind: 'loadError',
    message: e.message,
    code: e instanceof PitlaneError ? e.code : null,
    path: e instanceof FileError ? e.path : null,
  };
  port.postMessage(reply);
}
