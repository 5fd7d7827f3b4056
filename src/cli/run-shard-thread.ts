/** The entry of a run thread (cli/run-threads.ts): runs its shard of the streams and reports to the main thread. */
import { parentPort, workerData } from 'node:worker_threads';
import { runShard, type ShardData, type ShardMessage } from './run-threads.js';

const port = parentPort;
if (port === null) throw new Error('run-shard-thread runs as a worker thread of `pitlane run`');
const stop = new AbortController();
// The one message the main thread sends: stop (Ctrl-C, or the output failed).
port.on('message', () => {
  stop.abort();
});
await runShard(workerData as ShardData, (m: ShardMessage) => port.postMessage(m), stop);
port.close();
