/**
 * The model repository: `models.yaml`, the seed's shape (`models: {id: {name, paths: {pytorch: ..., onnx: ...}}}`)
 * extended with what serving needs: backend, tokenizer, tensor names, pooling and normalisation, sequence length,
 * dimension, dynamic batching and threads. Validated like manifests (every problem with its path, line and
 * column); paths are resolved against the file's folder; defaults are filled in here and nowhere else.
 *
 * The seed's `paths.pytorch` is accepted and recorded, never read: pitlane serves ONNX and TF.js graphs. A model
 * with only a PyTorch path is an error that says so; one with both is served from its ONNX file, and the serve
 * commands say at start-up that the PyTorch one is not served (`unservedNotes`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { DocumentInvalidError, type ManifestProblem } from '../../core/errors.js';
import {
  locateAndSortProblems,
  memberPath,
  parseDocumentText,
  readConfigFile,
  schemaProblems,
} from '../../core/config-document.js';

const Positive = Type.Integer({ minimum: 1 });

export const ModelSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, description: 'What the model is (say when it is a stand-in).' }),
    kind: Type.Optional(
      Type.Union([Type.Literal('text-embedding'), Type.Literal('tensor')], {
        description:
          'text-embedding: texts in, pooled vectors out (serve embed); tensor: named tensors in and out (serve models). Default: text-embedding when a tokenizer is given, else tensor',
      }),
    ),
    outputs: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String({ minLength: 1, description: 'the name clients see' }),
            node: Type.Optional(
              Type.String({
                minLength: 1,
                description: 'graph node or output to read (default: name); TF.js may name any inner node',
              }),
            ),
            pool: Type.Optional(
              Type.Literal('global_average', {
                description:
                  'average a [batch, H, W, C] (TF.js) or [batch, C, H, W] (ONNX) map to [batch, C]',
              }),
            ),
            normalize: Type.Optional(Type.Boolean({ description: 'L2-normalise each row (after pooling)' })),
          },
          { additionalProperties: false },
        ),
        { minItems: 1, description: 'tensor models: the outputs served (default: the graph outputs)' },
      ),
    ),
    dynamic_batching: Type.Optional(
      Type.Object(
        {
          max_batch_size: Type.Optional(
            Type.Integer({
              minimum: 0,
              description:
                'largest batch (Triton semantics: the first dimension of every input and output is the batch one); 0 = no batching. Default: 4 when every input and output has a variable first dimension, else 0',
            }),
          ),
          max_queue_delay_microseconds: Type.Optional(Type.Integer({ minimum: 0 })),
          preferred_batch_size: Type.Optional(Type.Array(Positive, { minItems: 1 })),
          queue_capacity: Type.Optional(Positive),
        },
        { additionalProperties: false, description: 'tensor models: batching across requests, as in Triton' },
      ),
    ),
    instances: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 64,
        description: 'copies of the model, each on its own thread (default 1)',
      }),
    ),
    instance_kind: Type.Optional(
      Type.Union([Type.Literal('auto'), Type.Literal('thread'), Type.Literal('inline')], {
        description:
          "where a model runs: 'thread' (a worker thread per instance), 'inline' (on the server's own thread: no hand-over, but the server waits while a batch runs; one instance only), or 'auto' (default). auto for a tensor model: inline when one instance is asked and a warm batch-1 run takes at most 100 µs, where handing it to a thread would cost more than the run; else thread. auto for a text-embedding model: inline when the server serves it alone and its intra-op threads take every core (nothing runs beside it for free, and a thread only adds a hand-over); else thread",
      }),
    ),
    backend: Type.Optional(
      Type.Union([Type.Literal('onnx'), Type.Literal('tfjs')], { description: 'default onnx' }),
    ),
    paths: Type.Object(
      {
        pytorch: Type.Optional(
          Type.String({
            description:
              "the seed's PyTorch checkpoint (file or folder): recorded, not read and not served (need not exist)",
          }),
        ),
        onnx: Type.Optional(Type.String({ description: 'model.onnx, relative to models.yaml' })),
        tfjs: Type.Optional(Type.String({ description: 'a TF.js graph model.json' })),
        tokenizer: Type.Optional(
          Type.String({ description: 'tokenizer.json (Hugging Face format), or vocab.json for use' }),
        ),
      },
      { additionalProperties: false },
    ),
    tokenizer: Type.Optional(
      Type.Object(
        {
          kind: Type.Union([Type.Literal('wordpiece'), Type.Literal('use'), Type.Literal('none')], {
            description: 'wordpiece: tokenizer.json; use: Universal Sentence Encoder vocab.json',
          }),
        },
        { additionalProperties: false },
      ),
    ),
    inputs: Type.Optional(
      Type.Object(
        {
          input_ids: Type.Optional(Type.String()),
          attention_mask: Type.Optional(Type.String()),
          token_type_ids: Type.Optional(Type.String()),
        },
        { additionalProperties: false, description: 'graph input names (defaults: the same names)' },
      ),
    ),
    output: Type.Optional(Type.String({ description: 'graph output to pool (default last_hidden_state)' })),
    pooling: Type.Optional(Type.Union([Type.Literal('mean'), Type.Literal('cls'), Type.Literal('none')])),
    normalize: Type.Optional(Type.Boolean({ description: 'L2-normalise embeddings (default true)' })),
    prompts: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Type.String(), {
        description:
          "text-embedding models: named prompts put before the text (sentence-transformers' `prompts`, TEI's prompt_name). Default: the `prompts` of a config_sentence_transformers.json beside the model file",
      }),
    ),
    default_prompt_name: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "the prompt put before every text whose request names none (a key of prompts); default: none, or the file's default_prompt_name",
      }),
    ),
    max_sequence_length: Type.Optional(Positive),
    dimension: Type.Optional(Positive),
    batching: Type.Optional(
      Type.Object(
        {
          max_batch_tokens: Type.Optional(Positive),
          max_batch_size: Type.Optional(Positive),
          max_queue_delay_ms: Type.Optional(Type.Number({ minimum: 0 })),
          queue_capacity: Type.Optional(Positive),
        },
        { additionalProperties: false },
      ),
    ),
    session: Type.Optional(
      Type.Object(
        {
          graph_optimization: Type.Optional(
            Type.Union(
              [
                Type.Literal('disabled'),
                Type.Literal('basic'),
                Type.Literal('extended'),
                Type.Literal('all'),
              ],
              { description: 'ONNX Runtime graph optimisation level (default all)' },
            ),
          ),
          memory_arena: Type.Optional(
            Type.Boolean({ description: 'keep a CPU memory arena (default true: faster, holds memory)' }),
          ),
        },
        { additionalProperties: false, description: 'ONNX Runtime session options' },
      ),
    ),
    threads: Type.Optional(
      Type.Object(
        {
          intra_op: Type.Optional(Positive),
          inter_op: Type.Optional(Positive),
          spinning: Type.Optional(
            Type.Boolean({ description: 'idle ONNX Runtime threads spin for work (default false)' }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const ModelRepositorySchema = Type.Object(
  { models: Type.Record(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' }), ModelSchema) },
  { additionalProperties: false },
);

/** The text of schemas/models.v1.json: the JSON Schema of models.yaml for editors (npm run gen:schema). */
export function renderModelRepositorySchema(): string {
  const schema = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'pitlane model repository (models.yaml)',
    ...ModelRepositorySchema,
  };
  return JSON.stringify(schema, null, 2) + '\n';
}

export type ModelDocument = Static<typeof ModelSchema>;

/**
 * Defaults of a model entry, in one place. Batches are small on purpose: on a CPU, a BERT-size model gains
 * about 10% from batches beyond a handful of mixed-length texts (1.7x for short queries, by 16), while ONNX
 * Runtime's memory arena keeps the activations of the largest batch it ever ran (about 600 MB more after one
 * 64 x 256-token batch of MiniLM): 2048 padded tokens bound that at about 100 MB.
 */
export const MODEL_DEFAULTS = Object.freeze({
  backend: 'onnx' satisfies 'onnx' | 'tfjs',
  output: 'last_hidden_state',
  pooling: 'mean' satisfies 'mean' | 'cls' | 'none',
  normalize: true,
  maxSequenceLength: 512,
  maxBatchTokens: 2048,
  maxBatchSize: 32,
  maxQueueDelayMs: 0,
  queueCapacity: 1024,
  intraOpThreads: 2,
  interOpThreads: 1,
  spinning: false,
  graphOptimization: 'all' satisfies 'disabled' | 'basic' | 'extended' | 'all',
  memoryArena: true,
});

/** One served output of a tensor model. */
export interface TensorOutputSpec {
  readonly name: string;
  /** The graph node or output it reads. */
  readonly node: string;
  readonly pool: 'global_average' | null;
  readonly normalize: boolean;
}

/** A model as the inference core uses it: every field present, paths absolute. */
export interface ModelSpec {
  readonly id: string;
  readonly name: string;
  readonly kind: 'text-embedding' | 'tensor';
  /** Outputs of a tensor model; null: the graph's own outputs. */
  readonly tensorOutputs: readonly TensorOutputSpec[] | null;
  readonly dynamicBatching: {
    /** null: decided at load from the model's shapes (4 when every first dimension is variable, else 0). */
    readonly maxBatchSize: number | null;
    readonly maxQueueDelayUs: number;
    readonly preferredBatchSizes: readonly number[];
    readonly queueCapacity: number;
  };
  readonly instances: number;
  /** Where the model's instances run (see `instance_kind` in the schema and text/embedder-placement.ts). */
  readonly instanceKind: 'auto' | 'thread' | 'inline';
  readonly backend: 'onnx' | 'tfjs';
  /** The model file (model.onnx or model.json). */
  readonly modelPath: string;
  /** The seed's `paths.pytorch`, absolute: recorded for reference, never read or served (null: not given). */
  readonly pytorchPath: string | null;
  readonly tokenizerPath: string | null;
  readonly tokenizer: 'wordpiece' | 'use' | 'none';
  readonly inputs: {
    readonly inputIds: string;
    readonly attentionMask: string;
    readonly tokenTypeIds: string;
  };
  readonly output: string;
  readonly pooling: 'mean' | 'cls' | 'none';
  readonly normalize: boolean;
  /** Named prompts put before a text (sentence-transformers' `prompts`); empty when the model has none. */
  readonly prompts: Readonly<Record<string, string>>;
  /** The prompt used when a request names none (a key of `prompts`), or null. */
  readonly defaultPromptName: string | null;
  readonly maxSequenceLength: number;
  /** Output dimension, when declared (checked against the model at load). */
  readonly dimension: number | null;
  readonly batching: {
    readonly maxBatchTokens: number;
    readonly maxBatchSize: number;
    readonly maxQueueDelayMs: number;
    readonly queueCapacity: number;
  };
  readonly threads: { readonly intraOp: number; readonly interOp: number; readonly spinning: boolean };
  readonly session: {
    readonly graphOptimization: 'disabled' | 'basic' | 'extended' | 'all';
    readonly memoryArena: boolean;
  };
}

/** Validates a parsed models.yaml; pushes every problem; returns the models when there are none. */
export function validateModelRepository(
  doc: unknown,
  baseDir: string,
  problems: ManifestProblem[],
): ModelSpec[] | null {
  problems.push(...schemaProblems(ModelRepositorySchema, doc, '$'));
  if (problems.length > 0) return null;
  const models = (doc as Static<typeof ModelRepositorySchema>).models;
  const out: ModelSpec[] = [];
  for (const [id, m] of Object.entries(models)) {
    const at = memberPath('$.models', id);
    const backend = m.backend ?? MODEL_DEFAULTS.backend;
    const file = backend === 'onnx' ? m.paths.onnx : m.paths.tfjs;
    if (file === undefined && m.paths.pytorch !== undefined && m.paths.tfjs === undefined) {
      problems.push({
        path: `${at}.paths`,
        message:
          `model '${id}' has only a pytorch path; pitlane serves ONNX (paths.onnx) and TF.js graphs ` +
          '(paths.tfjs with backend: tfjs), not PyTorch checkpoints: export it to ONNX ' +
          '(torch.onnx.export, or optimum-cli export onnx) and give paths.onnx',
      });
      continue;
    }
    if (file === undefined) {
      problems.push({ path: `${at}.paths.${backend}`, message: `required for backend ${backend}` });
      continue;
    }
    const modelPath = resolve(baseDir, file);
    if (!existsSync(modelPath))
      problems.push({ path: `${at}.paths.${backend}`, message: `no such file: ${modelPath}` });
    const tokenizer =
      m.tokenizer?.kind ??
      (m.paths.tokenizer === undefined ? 'none' : backend === 'tfjs' ? 'use' : 'wordpiece');
    const tokenizerPath = m.paths.tokenizer !== undefined ? resolve(baseDir, m.paths.tokenizer) : null;
    if (tokenizer !== 'none' && tokenizerPath === null) {
      problems.push({
        path: `${at}.paths.tokenizer`,
        message: `required for a ${tokenizer} tokenizer (${tokenizer === 'use' ? 'vocab.json' : 'tokenizer.json'})`,
      });
    }
    if (tokenizerPath !== null && !existsSync(tokenizerPath)) {
      problems.push({ path: `${at}.paths.tokenizer`, message: `no such file: ${tokenizerPath}` });
    }
    if (m.instance_kind === 'inline' && (m.instances ?? 1) > 1) {
      problems.push({
        path: `${at}.instance_kind`,
        message: `inline runs on the server's own thread, one batch at a time, so it takes one instance (instances is ${m.instances}); use instance_kind: thread for ${m.instances} instances`,
      });
    }
    const b = m.batching ?? {};
    const maxSequenceLength = m.max_sequence_length ?? MODEL_DEFAULTS.maxSequenceLength;
    const maxBatchTokens = b.max_batch_tokens ?? MODEL_DEFAULTS.maxBatchTokens;
    if (maxBatchTokens < maxSequenceLength) {
      problems.push({
        path: `${at}.batching.max_batch_tokens`,
        message: `must be at least max_sequence_length (${maxSequenceLength}), or the longest input could never be batched`,
      });
    }
    const { prompts, defaultPromptName } = promptsOf(m, modelPath, at, problems);
    const db = m.dynamic_batching ?? {};
    const outputNames = new Set<string>();
    (m.outputs ?? []).forEach((o, i) => {
      if (outputNames.has(o.name))
        problems.push({ path: `${at}.outputs[${i}].name`, message: `output '${o.name}' is listed twice` });
      outputNames.add(o.name);
    });
    const maxBatchSize = db.max_batch_size ?? null;
    (db.preferred_batch_size ?? []).forEach((n, i) => {
      if (maxBatchSize !== null && n > maxBatchSize)
        problems.push({
          path: `${at}.dynamic_batching.preferred_batch_size[${i}]`,
          message: `${n} is larger than max_batch_size (${maxBatchSize})`,
        });
    });
    out.push({
      id,
      name: m.name,
      kind: m.kind ?? (tokenizer === 'none' ? 'tensor' : 'text-embedding'),
      tensorOutputs:
        m.outputs?.map((o) => ({
          name: o.name,
          node: o.node ?? o.name,
          pool: o.pool ?? null,
          normalize: o.normalize ?? false,
        })) ?? null,
      dynamicBatching: {
        maxBatchSize,
        maxQueueDelayUs: db.max_queue_delay_microseconds ?? 0,
        preferredBatchSizes: [...(db.preferred_batch_size ?? [])].sort((a, b) => a - b),
        queueCapacity: db.queue_capacity ?? MODEL_DEFAULTS.queueCapacity,
      },
      instances: m.instances ?? 1,
      instanceKind: m.instance_kind ?? 'auto',
      backend,
      modelPath,
      pytorchPath: m.paths.pytorch !== undefined ? resolve(baseDir, m.paths.pytorch) : null,
      tokenizerPath,
      tokenizer,
      inputs: {
        inputIds: m.inputs?.input_ids ?? 'input_ids',
        attentionMask: m.inputs?.attention_mask ?? 'attention_mask',
        tokenTypeIds: m.inputs?.token_type_ids ?? 'token_type_ids',
      },
      output: m.output ?? MODEL_DEFAULTS.output,
      pooling: m.pooling ?? MODEL_DEFAULTS.pooling,
      normalize: m.normalize ?? MODEL_DEFAULTS.normalize,
      prompts,
      defaultPromptName,
      maxSequenceLength,
      dimension: m.dimension ?? null,
      batching: {
        maxBatchTokens,
        maxBatchSize: b.max_batch_size ?? MODEL_DEFAULTS.maxBatchSize,
        maxQueueDelayMs: b.max_queue_delay_ms ?? MODEL_DEFAULTS.maxQueueDelayMs,
        queueCapacity: b.queue_capacity ?? MODEL_DEFAULTS.queueCapacity,
      },
      threads: {
        intraOp: m.threads?.intra_op ?? MODEL_DEFAULTS.intraOpThreads,
        interOp: m.threads?.inter_op ?? MODEL_DEFAULTS.interOpThreads,
        spinning: m.threads?.spinning ?? MODEL_DEFAULTS.spinning,
      },
      session: {
        graphOptimization: m.session?.graph_optimization ?? MODEL_DEFAULTS.graphOptimization,
        memoryArena: m.session?.memory_arena ?? MODEL_DEFAULTS.memoryArena,
      },
    });
  }
  return problems.length > 0 ? null : out;
}

/** The file sentence-transformers writes beside a model, with its `prompts` and `default_prompt_name`. */
export const SENTENCE_TRANSFORMERS_CONFIG = 'config_sentence_transformers.json';

/**
 * A model's prompts: models.yaml's `prompts` and `default_prompt_name` when given, else those of a
 * config_sentence_transformers.json beside the model file (as sentence-transformers and TEI read them). A default
 * name that is not a prompt, or a file that is not such a config, is a problem naming where.
 */
function promptsOf(
  m: ModelDocument,
  modelPath: string,
  at: string,
  problems: ManifestProblem[],
): { prompts: Record<string, string>; defaultPromptName: string | null } {
  let prompts: Record<string, string> = m.prompts ?? {};
  let defaultPromptName = m.default_prompt_name ?? null;
  let where = `${at}.default_prompt_name`;
  let source = '';
  const file = join(dirname(modelPath), SENTENCE_TRANSFORMERS_CONFIG);
  if (m.prompts === undefined && existsSync(file)) {
    let config: unknown;
    try {
      config = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      problems.push({
        path: at,
        message: `${file}: not JSON (${err instanceof Error ? err.message : String(err)})`,
      });
      return { prompts, defaultPromptName };
    }
    const given = (config as { prompts?: unknown }).prompts;
    if (given !== undefined && given !== null) {
      const ok =
        typeof given === 'object' &&
        !Array.isArray(given) &&
        Object.values(given).every((v) => typeof v === 'string');
      if (!ok) problems.push({ path: at, message: `${file}: "prompts" must map names to strings` });
      else prompts = given as Record<string, string>;
    }
    const name = (config as { default_prompt_name?: unknown }).default_prompt_name;
    if (m.default_prompt_name === undefined && typeof name === 'string') {
      defaultPromptName = name;
      where = at;
      source = `${file}: default_prompt_name `;
    }
  }
  if (defaultPromptName !== null && !Object.hasOwn(prompts, defaultPromptName)) {
    const known = Object.keys(prompts);
    problems.push({
      path: where,
      message: `${source}"${defaultPromptName}" is not a prompt of the model (${known.length === 0 ? 'it has none' : `prompts: ${known.join(', ')}`})`,
    });
  }
  return { prompts, defaultPromptName };
}

/**
 * One line per served model that also names a PyTorch checkpoint (the seed's `paths.pytorch`), for the serve
 * commands' start-up output and `pitlane validate`: it is recorded, not served.
 */
export function unservedNotes(specs: readonly ModelSpec[]): string[] {
  return specs.flatMap((s) =>
    s.pytorchPath === null
      ? []
      : [
          `${s.id}: paths.pytorch (${s.pytorchPath}) is recorded, not served: ` +
            `pitlane serves the ${s.backend === 'onnx' ? 'ONNX' : 'TF.js'} graph ${s.modelPath}`,
        ],
  );
}

/** A models.yaml with problems. */
export class ModelRepositoryInvalidError extends DocumentInvalidError {
  constructor(file: string, problems: readonly ManifestProblem[]) {
    super('PL_ERR_MODELS_INVALID', file, 'model repository', problems);
    this.name = 'ModelRepositoryInvalidError';
  }
}

/** Reads, validates and normalises a models.yaml. Throws FileError or ModelRepositoryInvalidError. */
export async function loadModelRepository(file: string): Promise<ModelSpec[]> {
  const text = readConfigFile(file, 'model repository');
  const parsed = await parseDocumentText(text, file);
  if (!parsed.ok) throw new ModelRepositoryInvalidError(file, [{ path: '$', message: parsed.message }]);
  const problems: ManifestProblem[] = [];
  const models = validateModelRepository(parsed.doc, dirname(resolve(file)), problems);
  if (models === null) {
    await locateAndSortProblems(text, problems);
    throw new ModelRepositoryInvalidError(file, problems);
  }
  return models;
}
