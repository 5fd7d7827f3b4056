/**
 * PocketSphinxSTT: speech recognition with CMU PocketSphinx and its US-English model, a Python class shipped with
 * pitlane (src/python/nodes/pocketsphinx_stt.py) run on a CPython worker. The plan's "ML nodes with heavy Python
 * dependencies stay in Python": the recogniser is Debian's python3-pocketsphinx, which only CPython can load.
 *
 * Each input is one utterance, a 16 kHz mono AudioFrame (an accumulator of VAD utterances before it); each output
 * is `{"text", "start", "end"}` in seconds of the stream, the shape of a RemoteMedia (WhisperX) transcription
 * segment. RemoteMedia has no PocketSphinx node: the name is pitlane's, the output mirrors its Whisper nodes'.
 * Each utterance is decoded on its own, so a pool of workers (`workers`, default 2) decodes them side by side,
 * outputs in order.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { defineNodeType, type PipelineNode } from '../pipeline/node.js';
import { pythonNodeModule } from '../python/package-files.js';
import { pythonPipelineNode, PythonTimeout, timeoutMs } from './python.js';

/** Where Debian's pocketsphinx-en-us puts the model (the Python class's defaults). */
const MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';
const MODEL_FILES = {
  hmm: `${MODEL_DIR}/en-us`,
  lm: `${MODEL_DIR}/en-us.lm.bin`,
  dict: `${MODEL_DIR}/cmudict-en-us.dict`,
} as const;
/** Debian's python3-pocketsphinx is a module of Debian's own interpreter. */
const DEBIAN_PYTHON = '/usr/bin/python3';

const Params = Type.Object(
  {
    hmm: Type.Optional(
      Type.String({
        minLength: 1,
        description: `Acoustic model folder, relative to the manifest (default ${MODEL_FILES.hmm}, Debian's pocketsphinx-en-us).`,
      }),
    ),
    lm: Type.Optional(
      Type.String({
        minLength: 1,
        description: `Language model file, relative to the manifest (default ${MODEL_FILES.lm}).`,
      }),
    ),
    dict: Type.Optional(
      Type.String({
        minLength: 1,
        description: `Pronunciation dictionary, relative to the manifest (default ${MODEL_FILES.dict}).`,
      }),
    ),
    python: Type.Optional(
      Type.String({
        minLength: 1,
        description: `The CPython interpreter that has the pocketsphinx module (default: $PITLANE_PYTHON, else ${DEBIAN_PYTHON} when present, else python3).`,
      }),
    ),
    timeout: Type.Optional(PythonTimeout),
    workers: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 16,
        description:
          'CPython worker processes decoding utterances side by side (default 2; each loads the model); outputs keep their order.',
      }),
    ),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

/** The model paths the node uses, resolved against the manifest's folder. */
function modelPaths(p: Params, baseDir: string): Record<keyof typeof MODEL_FILES, string> {
  return {
    hmm: p.hmm === undefined ? MODEL_FILES.hmm : resolve(baseDir, p.hmm),
    lm: p.lm === undefined ? MODEL_FILES.lm : resolve(baseDir, p.lm),
    dict: p.dict === undefined ? MODEL_FILES.dict : resolve(baseDir, p.dict),
  };
}

function defaultPython(): string {
  return process.env.PITLANE_PYTHON ?? (existsSync(DEBIAN_PYTHON) ? DEBIAN_PYTHON : 'python3');
}

export const PocketSphinxSTT = defineNodeType<Params>({
  name: 'PocketSphinxSTT',
  aliases: ['PocketSphinxNode'],
  role: 'transform',
  description:
    'Speech recognition with CMU PocketSphinx (US English) on a CPython worker: one 16 kHz mono utterance frame in, {text, start, end} (seconds) out; see docs/audio.md.',
  params: Params,
  check: (p, node) => {
    const problems: { path: string; message: string }[] = [];
    const paths = modelPaths(p, node.baseDir);
    for (const key of ['hmm', 'lm', 'dict'] as const) {
      if (!existsSync(paths[key])) {
        problems.push({
          path: `.${key}`,
          message:
            p[key] === undefined
              ? `the PocketSphinx model file ${paths[key]} is missing: install Debian's pocketsphinx-en-us (scripts/setup-test-deps.sh does)`
              : `${paths[key]} does not exist`,
        });
      }
    }
    if (node.runtimeHint !== undefined && node.runtimeHint !== 'cpython' && node.runtimeHint !== 'auto') {
      problems.push({
        path: '@.runtime_hint',
        message: `PocketSphinxSTT runs on CPython only (pocketsphinx is a native module): use cpython or auto, not ${node.runtimeHint}`,
      });
    }
    return problems;
  },
  create: (ctx): PipelineNode => {
    const p = ctx.params;
    const paths = modelPaths(p, ctx.baseDir);
    return pythonPipelineNode(
      ctx,
      {
        nodeId: ctx.id,
        modulePath: pythonNodeModule('pocketsphinx_stt.py'),
        fileName: 'pocketsphinx_stt.py',
        className: 'PocketSphinxSTT',
        init: { node_id: ctx.id, ...paths },
      },
      { runtime: 'cpython', reason: 'PocketSphinx is a CPython module' },
      // Utterances are decoded independently: a pool decodes them side by side, in order.
      { timeoutMs: timeoutMs(p.timeout), poolSize: p.workers ?? 2, python: p.python ?? defaultPython() },
    );
  },
});
