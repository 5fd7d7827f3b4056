/**
 * The thread of one served model instance (see thread-tensor-model.ts): loads the model, warms it up, then runs
 * batches posted by the main thread. Input and output tensor buffers are transferred, not copied.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FileError, PitlaneError } from '../../core/errors.js';
import type { ModelSpec } from './model-repository.js';
import { InferenceInputError, type Tensor } from './tensor.js';
import { loadTensorModel } from '../backends/registry.js';
import { warmUpInputs } from './tensor-model.js';
import type { TensorThreadReply, TensorThreadRequest } from './thread-tensor-model.js';

const port = parentPort;
if (port === null) throw new Error('tensor-model-worker.js runs on a worker thread');

const spec = workerData as ModelSpec;
try {
  const model = await loadTensorModel(spec);
  let warmUpMs: number | null = null;
  try {
    const t0 = performance.now();
    await model.run(
      warmUpInputs(model.inputs),
      model.outputs.map((o) => o.name),
    );
    warmUpMs = performance.now() - t0;
  } catch {
    // A model whose variable dimensions cannot be 1 warms up on its first request instead.
  }
  const ready: TensorThreadReply = {
    kind: 'ready',
    info: model.info,
    inputs: model.inputs,
    outputs: model.outputs,
    warmUpMs,
  };
  port.postMessage(ready);
  port.on('message', (req: TensorThreadRequest) => {
    void (async () => {
      if (req.kind === 'close') {
        await model.close();
        port.close();
        return;
      }
      try {
        const outputs: Tensor[] = await model.run(req.inputs, req.outputs);
        const reply: TensorThreadReply = { kind: 'outputs', id: req.id, outputs };
        const transfer = outputs
          .map((t) => t.data.buffer)
          .filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
        port.postMessage(reply, [...new Set(transfer)]);
      } catch (err) {
        const reply: TensorThreadReply = {
          kind: 'error',
          id: req.id,
          message: err instanceof Error ? err.message : String(err),
          input: err instanceof InferenceInputError,
        };
        port.postMessage(reply);
      }
    })();
  });
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  const reply: TensorThreadReply = {
    kind: 'loadError',
    message: e.message,
    code: e instanceof PitlaneError ? e.code : null,
    path: e instanceof FileError ? e.path : null,
  };
  port.postMessage(reply);
}
