// Builds the models pitlane can benchmark on a fresh machine, where no model hub is reachable (MODELS.md):
// architecture-faithful stand-ins for BERT sentence encoders with deterministic synthetic weights, each with a
// Hugging Face WordPiece tokenizer.json and vocab.txt of the same size (30522). Throughput measured on them is
// real; their vectors are not meaningful.
//   minilm-l6-arch          all-MiniLM-L6-v2: 6 layers, hidden 384, 12 heads, FFN 1536; mean pooling
//   bge-small-en-v1.5-arch  BAAI/bge-small-en-v1.5: 12 layers, hidden 384, 12 heads, FFN 1536; CLS pooling
//
// Usage: node scripts/build-models.mjs [--model ID] [--out DIR] [--force]
//   without --out: every model (or --model's) into models/<id>; with --out: one model (--model, default
//   minilm-l6-arch) into DIR.
// Idempotent: when every file exists and config.json carries the model's build version, nothing is rebuilt.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  attr,
  floatTensor,
  FLOAT,
  int64Tensor,
  INT64,
  normalArray,
  onnx,
  valueInfo,
} from './onnx-helpers.mjs';
// The project's seeded PRNG (mulberry32); this script runs after `npm run build`, so dist/ exists.
import { seededRandom } from '../dist/lab/stats.js';

/** minilm-l6-arch's build version. Bump when its graph, weights or tokenizer files change: it is then rebuilt. */
export const BUILD_VERSION = 'minilm-l6-arch/1';

export const MINILM_L6_SHAPE = Object.freeze({
  vocabSize: 30522,
  hiddenSize: 384,
  numLayers: 6,
  numHeads: 12,
  intermediateSize: 1536,
  maxPositions: 512,
  typeVocabSize: 2,
  layerNormEps: 1e-12,
});

export const BGE_SMALL_SHAPE = Object.freeze({ ...MINILM_L6_SHAPE, numLayers: 12 });

const DESCRIPTION =
  'architecture-faithful stand-in for all-MiniLM-L6-v2 with synthetic weights: throughput is real, vectors are not meaningful';

/**
 * The stand-ins this script builds, by id: shape, seed, what they stand in for, pooling (as the original's
 * sentence-transformers config), the tokenizer's truncation length (as the original's tokenizer.json).
 */
export const STAND_INS = Object.freeze({
  'minilm-l6-arch': Object.freeze({
    id: 'minilm-l6-arch',
    buildVersion: BUILD_VERSION,
    shape: MINILM_L6_SHAPE,
    seed: 1234,
    description: DESCRIPTION,
    standsInFor: 'sentence-transformers/all-MiniLM-L6-v2',
    pooling: 'mean',
    tokenizerMaxLength: 128,
  }),
  'bge-small-en-v1.5-arch': Object.freeze({
    id: 'bge-small-en-v1.5-arch',
    buildVersion: 'bge-small-en-v1.5-arch/1',
    shape: BGE_SMALL_SHAPE,
    seed: 1512,
    description:
      'architecture-faithful stand-in for BAAI/bge-small-en-v1.5 with synthetic weights: throughput is real, vectors are not meaningful',
    standsInFor: 'BAAI/bge-small-en-v1.5',
    pooling: 'cls',
    tokenizerMaxLength: 512,
  }),
});

const FILES = ['model.onnx', 'tokenizer.json', 'vocab.txt', 'config.json'];

// ---------------------------------------------------------------------------------------------------------------
// ONNX graph

/** Builds a stand-in's BERT encoder graph; returns the serialised ModelProto. */
function buildBertGraph(standIn, seed) {
  const s = standIn.shape;
  const H = s.hiddenSize;
  const headDim = H / s.numHeads;
  const rand = seededRandom(seed);
  const nodes = [];
  const inits = [];
  let counter = 0;
  const op = (opType, inputs, attrs = {}, outName) => {
    const output = outName ?? `${opType}_${counter++}`;
    nodes.push({
      opType,
      input: inputs,
      output: [output],
      name: `${opType}_${counter++}`,
      attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)),
    });
    return output;
  };
  const weight = (name, dims) => {
    inits.push(
      floatTensor(
        name,
        dims,
        normalArray(
          dims.reduce((a, b) => a * b, 1),
          0.02,
          rand,
        ),
      ),
    );
    return name;
  };
  const filled = (name, n, value) => {
    inits.push(floatTensor(name, [n], new Float32Array(n).fill(value)));
    return name;
  };
  const constInt = (name, dims, values) => {
    inits.push(int64Tensor(name, dims, values));
    return name;
  };
  const scalarFloat = (name, value) => {
    inits.push(floatTensor(name, [], new Float32Array([value])));
    return name;
  };
  const layerNorm = (x, prefix) =>
    op('LayerNormalization', [x, filled(`${prefix}.weight`, H, 1), filled(`${prefix}.bias`, H, 0)], {
      axis: -1,
      epsilon: s.layerNormEps,
    });
  const linear = (x, prefix, inDim, outDim) =>
    op('Add', [
      op('MatMul', [x, weight(`${prefix}.weight`, [inDim, outDim])]),
      filled(`${prefix}.bias`, outDim, 0),
    ]);

  // Embeddings: word + position + token type, then LayerNorm.
  const wordEmb = op('Gather', [weight('embeddings.word_embeddings.weight', [s.vocabSize, H]), 'input_ids']);
  const seqLen = op('Gather', [op('Shape', ['input_ids']), constInt('const_one_scalar', [], [1])], {
    axis: 0,
  });
  const positions = op('Range', [constInt('const_zero', [], [0]), seqLen, constInt('const_one', [], [1])]);
  const positionIds = op('Unsqueeze', [positions, constInt('const_axes_0', [1], [0])]);
  const posEmb = op('Gather', [
    weight('embeddings.position_embeddings.weight', [s.maxPositions, H]),
    positionIds,
  ]);
  const typeEmb = op('Gather', [
    weight('embeddings.token_type_embeddings.weight', [s.typeVocabSize, H]),
    'token_type_ids',
  ]);
  let hidden = layerNorm(op('Add', [op('Add', [wordEmb, posEmb]), typeEmb]), 'embeddings.LayerNorm');

  // Additive attention bias: (1 - mask) * -10000, shaped [batch, 1, 1, seq].
  const maskF = op('Cast', ['attention_mask'], { to: FLOAT });
  const mask4 = op('Unsqueeze', [maskF, constInt('const_axes_12', [2], [1, 2])]);
  const maskBias = op('Mul', [
    op('Sub', [scalarFloat('const_1f', 1), mask4]),
    scalarFloat('const_neg10000', -10000),
  ]);

  const headsShape = constInt('const_heads_shape', [4], [0, 0, s.numHeads, headDim]);
  const mergedShape = constInt('const_merged_shape', [3], [0, 0, H]);
  const scale = scalarFloat('const_attn_scale', Math.sqrt(headDim));
  const sqrt2 = scalarFloat('const_sqrt2', Math.SQRT2);
  const half = scalarFloat('const_half', 0.5);

  for (let l = 0; l < s.numLayers; l++) {
    const p = `encoder.layer.${l}`;
    const heads = (x, perm) => op('Transpose', [op('Reshape', [x, headsShape])], { perm });
    const q = heads(linear(hidden, `${p}.attention.self.query`, H, H), [0, 2, 1, 3]);
    const k = heads(linear(hidden, `${p}.attention.self.key`, H, H), [0, 2, 3, 1]);
    const v = heads(linear(hidden, `${p}.attention.self.value`, H, H), [0, 2, 1, 3]);
    const scores = op('Add', [op('Div', [op('MatMul', [q, k]), scale]), maskBias]);
    const probs = op('Softmax', [scores], { axis: -1 });
    const context = op('Reshape', [
      op('Transpose', [op('MatMul', [probs, v])], { perm: [0, 2, 1, 3] }),
      mergedShape,
    ]);
    const attnOut = linear(context, `${p}.attention.output.dense`, H, H);
    hidden = layerNorm(op('Add', [attnOut, hidden]), `${p}.attention.output.LayerNorm`);
    const inter = linear(hidden, `${p}.intermediate.dense`, H, s.intermediateSize);
    // GELU as BERT computes it: x * 0.5 * (1 + erf(x / sqrt(2))).
    const erf = op('Erf', [op('Div', [inter, sqrt2])]);
    const gelu = op('Mul', [op('Mul', [inter, half]), op('Add', [erf, scalarFloat(`const_1f_${l}`, 1)])]);
    const ffnOut = linear(gelu, `${p}.output.dense`, s.intermediateSize, H);
    const outName = l === s.numLayers - 1 ? 'last_hidden_state' : undefined;
    hidden = op(
      'LayerNormalization',
      [
        op('Add', [ffnOut, hidden]),
        filled(`${p}.output.LayerNorm.weight`, H, 1),
        filled(`${p}.output.LayerNorm.bias`, H, 0),
      ],
      { axis: -1, epsilon: s.layerNormEps },
      outName,
    );
  }

  const io = ['batch', 'sequence'];
  const model = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'pitlane scripts/build-models.mjs',
    producerVersion: standIn.buildVersion,
    docString: standIn.description,
    graph: {
      name: standIn.id,
      docString: standIn.description,
      node: nodes,
      initializer: inits,
      input: [
        valueInfo('input_ids', INT64, io),
        valueInfo('attention_mask', INT64, io),
        valueInfo('token_type_ids', INT64, io),
      ],
      output: [valueInfo('last_hidden_state', FLOAT, ['batch', 'sequence', H])],
    },
    metadataProps: [{ key: 'pitlane.stand_in', value: standIn.description }],
  };
  return onnx.ModelProto.encode(model).finish();
}

// ---------------------------------------------------------------------------------------------------------------
// WordPiece vocabulary and tokenizer.json

const COMMON_WORDS =
  `the of and to a in is it you that he was for on are with as i his they be at one have this from
or had by hot word but what some we can out other were all there when up use your how said an each she which do their
time if will way about many then them write would like so these her long make thing see him two has look more day
could go come did number sound no most people my over know water than call first who may down side been now find any
new work part take get place made live where after back little only round man year came show every good me give our
under name very through just form sentence great think say help low line differ turn cause much mean before move right
boy old too same tell does set three want air well also play small end put home read hand port large spell add even
land here must big high such follow act why ask men change went light kind off need house picture try us again animal
point mother world near build self earth father head stand own page should country found answer school grow study
still learn plant cover food sun four between state keep eye never last let thought city tree cross farm hard start
might story saw far sea draw left late run don while press close night real life few north open seem together next
white children begin got walk example ease paper group always music those both mark often letter until mile river car
feet care second book carry took science eat room friend began idea fish mountain stop once base hear horse cut sure
watch color face wood main enough plain girl usual young ready above ever red list though feel talk bird soon body dog
family direct pose leave song measure door product black short numeral class wind question happen complete ship area
half rock order fire south problem piece told knew pass since top whole king space heard best hour better true during
hundred five remember step early hold west ground interest reach fast verb sing listen six table travel less morning
ten simple several vowel toward war lay against pattern slow center love person money serve appear road map rain rule
govern pull cold notice voice unit power town fine certain fly fall lead cry dark machine note wait plan figure star
box noun field rest correct able pound done beauty drive stood contain front teach week final gave green oh quick
develop ocean warm free minute strong special mind behind clear tail produce fact street inch multiply nothing course
stay wheel full force blue object decide surface deep moon island foot system busy test record boat common gold
possible plane stead dry wonder laugh thousand ago ran check game shape equate miss brought heat snow tire bring yes
distant fill east paint language among hello model embedding vector search image text data fast slow pipeline benchmark
cafe coffee quick brown fox jumps lazy`
    .split(/\s+/)
    .filter(Boolean);

const SUFFIXES =
  `ing ed s es ly er est ness able ible tion sion ment ful less ous ive al ity ize ise ance ence ship hood dom
ward wise y ie ish ist ism ian an ar or ory ary ery age ant ent`
    .split(/\s+/)
    .filter(Boolean);

/** BERT's layout: [PAD]=0, [unused0..98], [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103, [unused99..993], then pieces. */
export function buildVocab(size = MINILM_L6_SHAPE.vocabSize, seed = 20261122) {
  const tokens = ['[PAD]'];
  for (let i = 0; i <= 98; i++) tokens.push(`[unused${i}]`);
  tokens.push('[UNK]', '[CLS]', '[SEP]', '[MASK]');
  for (let i = 99; i <= 993; i++) tokens.push(`[unused${i}]`);
  const seen = new Set(tokens);
  const add = (t) => {
    if (tokens.length < size && !seen.has(t)) {
      seen.add(t);
      tokens.push(t);
    }
  };
  const punct = [
    ...'!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
    '¡',
    '§',
    '«',
    '°',
    '»',
    '¿',
    '–',
    '—',
    '‘',
    '’',
    '“',
    '”',
    '…',
  ];
  const letters = [...'0123456789abcdefghijklmnopqrstuvwxyz', ...'αβγδεζηθικλμνξοπρστυφχψω', ...'£€¥©®'];
  const cjk = [...'的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年'];
  for (const c of [...punct, ...letters, ...cjk]) add(c);
  for (const c of [...letters, ...cjk]) add(`##${c}`);
  for (const w of COMMON_WORDS) add(w);
  for (const suf of SUFFIXES) add(`##${suf}`);
  // Fill with syllable-built words and ## pieces, deterministically shuffled.
  const onsets = [...'bcdfghjklmnprstvwz', 'ch', 'sh', 'th'];
  const vowels = ['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'ou'];
  const codas = ['', 'n', 'r', 's', 't', 'l', 'm', 'nd', 'st'];
  const syllables = [];
  for (const o of onsets) for (const v of vowels) for (const c of codas) syllables.push(o + v + c);
  const rand = seededRandom(seed);
  const pick = () => syllables[Math.floor(rand() * syllables.length)];
  for (const syl of syllables) add(syl);
  for (const syl of syllables) add(`##${syl}`);
  while (tokens.length < size) {
    const r = rand();
    if (r < 0.45) add(pick() + pick());
    else if (r < 0.8) add(`##${pick()}${pick()}`);
    else add(pick() + pick() + pick());
  }
  return tokens;
}

function tokenizerJson(vocabTokens, maxLength) {
  const vocab = {};
  vocabTokens.forEach((t, i) => (vocab[t] = i));
  const special = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  return {
    version: '1.0',
    truncation: { direction: 'Right', max_length: maxLength, strategy: 'LongestFirst', stride: 0 },
    padding: null,
    added_tokens: special.map((content) => ({
      id: vocab[content],
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [vocab['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [vocab['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------

function isUpToDate(dir, buildVersion) {
  if (!FILES.every((f) => existsSync(join(dir, f)))) return false;
  try {
    return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).pitlane_build_version === buildVersion;
  } catch {
    return false;
  }
}

/**
 * Builds the stand-in `id` (a key of STAND_INS) into `outDir` unless it is already there at its build version
 * (or `force`). Returns { outDir, built, ms, files: [{ name, bytes }] }.
 */
export function buildStandIn(id, outDir, { force = false, seed } = {}) {
  const standIn = STAND_INS[id];
  if (standIn === undefined)
    throw new Error(`build-models: no stand-in '${id}' (${Object.keys(STAND_INS).join(', ')})`);
  const t0 = performance.now();
  const dir = resolve(outDir);
  const weightsSeed = seed ?? standIn.seed;
  let built = false;
  if (force || !isUpToDate(dir, standIn.buildVersion)) {
    mkdirSync(dir, { recursive: true });
    const vocabTokens = buildVocab();
    writeFileSync(join(dir, 'model.onnx'), buildBertGraph(standIn, weightsSeed));
    writeFileSync(
      join(dir, 'tokenizer.json'),
      JSON.stringify(tokenizerJson(vocabTokens, standIn.tokenizerMaxLength)),
    );
    writeFileSync(join(dir, 'vocab.txt'), vocabTokens.join('\n') + '\n');
    const s = standIn.shape;
    const config = {
      _name: standIn.id,
      description: standIn.description,
      synthetic_weights: true,
      stands_in_for: standIn.standsInFor,
      pitlane_build_version: standIn.buildVersion,
      seed: weightsSeed,
      model_type: 'bert',
      architectures: ['BertModel'],
      vocab_size: s.vocabSize,
      hidden_size: s.hiddenSize,
      num_hidden_layers: s.numLayers,
      num_attention_heads: s.numHeads,
      intermediate_size: s.intermediateSize,
      max_position_embeddings: s.maxPositions,
      type_vocab_size: s.typeVocabSize,
      hidden_act: 'gelu',
      layer_norm_eps: s.layerNormEps,
      pooling: standIn.pooling,
      normalize: true,
      onnx: {
        file: 'model.onnx',
        opset: 17,
        inputs: ['input_ids', 'attention_mask', 'token_type_ids'],
        output: 'last_hidden_state',
      },
    };
    // config.json last: its stamp marks a complete build.
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    built = true;
  }
  return {
    outDir: dir,
    built,
    ms: performance.now() - t0,
    files: FILES.map((name) => ({ name, bytes: statSync(join(dir, name)).size })),
  };
}

/** Builds minilm-l6-arch into `outDir` (buildStandIn for it; the tests' entry point). */
export function buildMiniLmArch(outDir, options = {}) {
  return buildStandIn('minilm-l6-arch', outDir, options);
}

function main(argv) {
  const here = dirname(fileURLToPath(import.meta.url));
  const usage = 'usage: node scripts/build-models.mjs [--model ID] [--out DIR] [--force]';
  let out;
  let model;
  let force = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out' && argv[i + 1]) out = argv[++i];
    else if (argv[i] === '--model' && argv[i + 1]) model = argv[++i];
    else if (argv[i] === '--force') force = true;
    else {
      console.error(`build-models: unknown argument ${argv[i]}\n${usage}`);
      process.exit(2);
    }
  }
  if (model !== undefined && STAND_INS[model] === undefined) {
    console.error(`build-models: no model '${model}' (${Object.keys(STAND_INS).join(', ')})\n${usage}`);
    process.exit(2);
  }
  const jobs =
    out !== undefined
      ? [[model ?? 'minilm-l6-arch', out]]
      : (model !== undefined ? [model] : Object.keys(STAND_INS)).map((id) => [
          id,
          join(here, '..', 'models', id),
        ]);
  for (const [id, dir] of jobs) {
    const r = buildStandIn(id, dir, { force });
    console.log(
      `${r.built ? 'built' : 'up to date'}: ${id} (${STAND_INS[id].description}) in ${r.outDir} (${(r.ms / 1000).toFixed(2)} s)`,
    );
    for (const f of r.files)
      console.log(`  ${f.name.padEnd(15)} ${(f.bytes / 1048576).toFixed(2).padStart(8)} MiB`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  main(process.argv.slice(2));
