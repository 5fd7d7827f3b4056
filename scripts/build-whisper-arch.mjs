// Builds whisper-micro-arch: a model with Whisper's architecture, in the transformers.js folder layout
// (config.json, generation_config.json, preprocessor_config.json, tokenizer.json, tokenizer_config.json,
// onnx/encoder_model.onnx, onnx/decoder_model_merged.onnx), tiny dimensions and SYNTHETIC weights. It transcribes
// nothing: it exists so that the Whisper nodes' code path (log-mel features, encoder, decoder with its key/value
// cache, generation, token decoding) runs for real in tests on a machine without a Whisper download. It is not
// OpenAI's whisper-tiny and is never called Whisper in a result.
//
// The graphs follow Hugging Face's WhisperModel: encoder = two GELU Conv1d (the second with stride 2) + sinusoidal
// positions + pre-LayerNorm transformer layers + LayerNorm; decoder = token + learned position embeddings,
// pre-LayerNorm layers of causal self-attention (with the key/value cache: past_key_values.{i}.decoder.* in,
// present.{i}.decoder.* out), cross-attention on the encoder states (present.{i}.encoder.* out) and an MLP, then
// LayerNorm and logits tied to the token embeddings. Like Optimum's merged decoder it takes every cache input, but
// without its If node: cross-attention keys and values are always computed from encoder_hidden_states, which
// transformers.js passes at every step, so the result is the same.
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLOAT, INT64, onnx, valueInfo } from './onnx-helpers.mjs';
import { GraphBuilder } from './vision-models/graph-builder.mjs';

export const BUILD_VERSION = 1;
export const WHISPER_MICRO = Object.freeze({
  dModel: 64,
  heads: 2,
  encoderLayers: 2,
  decoderLayers: 2,
  ffn: 256,
  mels: 80,
  sourcePositions: 1500,
  targetPositions: 448,
});
const DESCRIPTION =
  'Whisper architecture at micro size (d_model 64, 2+2 layers) with synthetic weights: exercises the Whisper code path, transcribes nothing';

// Byte-level vocabulary (GPT-2's byte ↔ unicode table) and Whisper's special tokens after it.
const SPECIALS = [
  '<|endoftext|>',
  '<|startoftranscript|>',
  '<|en|>',
  '<|translate|>',
  '<|transcribe|>',
  '<|startoflm|>',
  '<|startofprev|>',
  '<|nospeech|>',
  '<|notimestamps|>',
];
const id = (token) => 256 + SPECIALS.indexOf(token);
const VOCAB_SIZE = 256 + SPECIALS.length;

function bytesToUnicode() {
  const bs = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const table = new Array(256);
  bs.forEach((b, i) => (table[b] = String.fromCodePoint(cs[i])));
  return table;
}

function tokenizerJson() {
  const vocab = Object.fromEntries(bytesToUnicode().map((ch, b) => [ch, b]));
  SPECIALS.forEach((t) => (vocab[t] = id(t)));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((content) => ({
      id: id(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: [],
    },
  };
}

/** The shared graph builder (vision-models/graph-builder.mjs) with this file's shorthands; weights N(0, 0.02). */
function kit(seed) {
  const b = new GraphBuilder(seed);
  return {
    nodes: b.nodes,
    inits: b.inits,
    op: (opType, inputs, attrs, outName) => b.op(opType, inputs, attrs, outName),
    weight: (name, dims) =>
      b.param(
        name,
        dims,
        b.normal(
          dims.reduce((x, y) => x * y, 1),
          0.02,
        ),
      ),
    filled: (name, n, value) => b.param(name, [n], new Float32Array(n).fill(value)),
    ints: (values, dims = [values.length]) => b.constInt(dims, values),
    float: (value) => b.scalar(value),
    tensor: (name, dims, data) => b.constTensor(name, dims, data),
    gelu: (x) => b.gelu({ name: x }).name,
    linear: (x, prefix, cin, cout, bias = true) =>
      b.linear(x, prefix, { tokens: 1, cin, cout, bias, std: 0.02 }),
  };
}

function layerNorm(k, x, prefix, d) {
  return k.op(
    'LayerNormalization',
    [x, k.filled(`${prefix}.weight`, d, 1), k.filled(`${prefix}.bias`, d, 0)],
    {
      axis: -1,
      epsilon: 1e-5,
    },
  );
}

const linear = (k, x, prefix, inDim, outDim, bias = true) => k.linear(x, prefix, inDim, outDim, bias);
const gelu = (k, x) => k.gelu(x);

/** [B, T, d] → [B, heads, T, headDim]. */
function splitHeads(k, x, heads, headDim) {
  return k.op('Transpose', [k.op('Reshape', [x, k.ints([0, 0, heads, headDim])])], { perm: [0, 2, 1, 3] });
}

/** softmax(q kᵀ + bias) v, heads merged back to [B, T, d]. q is already scaled. */
function attend(k, q, key, value, bias, d) {
  let scores = k.op('MatMul', [q, k.op('Transpose', [key], { perm: [0, 1, 3, 2] })]);
  if (bias !== null) scores = k.op('Add', [scores, bias]);
  const ctx = k.op('MatMul', [k.op('Softmax', [scores], { axis: -1 }), value]);
  return k.op('Reshape', [k.op('Transpose', [ctx], { perm: [0, 2, 1, 3] }), k.ints([0, 0, d])]);
}

function mlp(k, x, prefix, d, ffn) {
  return linear(k, gelu(k, linear(k, x, `${prefix}.fc1`, d, ffn)), `${prefix}.fc2`, ffn, d);
}

function model(k, inputs, outputs, name) {
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'pitlane build-whisper-arch',
    graph: { name, node: k.nodes, initializer: k.inits, input: inputs, output: outputs },
  }).finish();
}

function sinusoids(length, channels) {
  const out = new Float32Array(length * channels);
  const half = channels / 2;
  const inc = Math.log(10000) / (half - 1);
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < half; i++) {
      const t = p * Math.exp(-inc * i);
      out[p * channels + i] = Math.sin(t);
      out[p * channels + half + i] = Math.cos(t);
    }
  }
  return out;
}

function buildEncoder(seed) {
  const s = WHISPER_MICRO;
  const d = s.dModel;
  const hd = d / s.heads;
  const k = kit(seed);
  let x = gelu(
    k,
    k.op('Conv', ['input_features', k.weight('conv1.weight', [d, s.mels, 3]), k.filled('conv1.bias', d, 0)], {
      pads: [1, 1],
    }),
  );
  x = gelu(
    k,
    k.op('Conv', [x, k.weight('conv2.weight', [d, d, 3]), k.filled('conv2.bias', d, 0)], {
      pads: [1, 1],
      strides: [2],
    }),
  );
  x = k.op('Transpose', [x], { perm: [0, 2, 1] });
  x = k.op('Add', [
    x,
    k.tensor('embed_positions.weight', [s.sourcePositions, d], sinusoids(s.sourcePositions, d)),
  ]);
  for (let i = 0; i < s.encoderLayers; i++) {
    const p = `layers.${i}`;
    const h = layerNorm(k, x, `${p}.self_attn_layer_norm`, d);
    const q = splitHeads(
      k,
      k.op('Mul', [linear(k, h, `${p}.self_attn.q_proj`, d, d), k.float(hd ** -0.5)]),
      s.heads,
      hd,
    );
    const key = splitHeads(k, linear(k, h, `${p}.self_attn.k_proj`, d, d, false), s.heads, hd);
    const value = splitHeads(k, linear(k, h, `${p}.self_attn.v_proj`, d, d), s.heads, hd);
    x = k.op('Add', [x, linear(k, attend(k, q, key, value, null, d), `${p}.self_attn.out_proj`, d, d)]);
    x = k.op('Add', [x, mlp(k, layerNorm(k, x, `${p}.final_layer_norm`, d), p, d, s.ffn)]);
  }
  layerNorm(k, x, 'layer_norm', d);
  k.nodes.at(-1).output = ['last_hidden_state'];
  return model(
    k,
    [valueInfo('input_features', FLOAT, ['batch_size', s.mels, 3000])],
    [valueInfo('last_hidden_state', FLOAT, ['batch_size', s.sourcePositions, d])],
    'whisper_micro_encoder',
  );
}

function buildDecoder(seed) {
  const s = WHISPER_MICRO;
  const d = s.dModel;
  const hd = d / s.heads;
  const k = kit(seed);
  const tokens = k.weight('embed_tokens.weight', [VOCAB_SIZE, d]);
  // Positions past_len .. past_len+T-1, and the causal bias [T, past_len+T]: 0 where key j ≤ past_len + i.
  const T = k.op('Gather', [k.op('Shape', ['input_ids']), k.ints([1], [])], { axis: 0 });
  const P = k.op('Gather', [k.op('Shape', ['past_key_values.0.decoder.key']), k.ints([2], [])], { axis: 0 });
  const PT = k.op('Add', [P, T]);
  const positions = k.op('Range', [P, PT, k.ints([1], [])]);
  let x = k.op('Add', [
    k.op('Gather', [tokens, 'input_ids']),
    k.op('Gather', [k.weight('embed_positions.weight', [s.targetPositions, d]), positions]),
  ]);
  const rows = k.op('Unsqueeze', [positions, k.ints([1])]);
  const cols = k.op('Unsqueeze', [k.op('Range', [k.ints([0], []), PT, k.ints([1], [])]), k.ints([0])]);
  const causal = k.op('Where', [k.op('LessOrEqual', [cols, rows]), k.float(0), k.float(-1e9)]);
  const outputs = [];
  const inputs = [
    valueInfo('input_ids', INT64, ['batch_size', 'decoder_sequence_length']),
    valueInfo('encoder_hidden_states', FLOAT, ['batch_size', 'encoder_sequence_length', d]),
  ];
  for (let i = 0; i < s.decoderLayers; i++) {
    const p = `layers.${i}`;
    const past = (kind, kv) => `past_key_values.${i}.${kind}.${kv}`;
    for (const kind of ['decoder', 'encoder']) {
      for (const kv of ['key', 'value']) {
        inputs.push(
          valueInfo(past(kind, kv), FLOAT, [
            'batch_size',
            s.heads,
            kind === 'decoder' ? 'past_decoder_sequence_length' : 'encoder_sequence_length_out',
            hd,
          ]),
        );
      }
    }
    // Causal self-attention over the cache and the new tokens.
    let h = layerNorm(k, x, `${p}.self_attn_layer_norm`, d);
    let q = splitHeads(
      k,
      k.op('Mul', [linear(k, h, `${p}.self_attn.q_proj`, d, d), k.float(hd ** -0.5)]),
      s.heads,
      hd,
    );
    const key = k.op(
      'Concat',
      [
        past('decoder', 'key'),
        splitHeads(k, linear(k, h, `${p}.self_attn.k_proj`, d, d, false), s.heads, hd),
      ],
      { axis: 2 },
      `present.${i}.decoder.key`,
    );
    const value = k.op(
      'Concat',
      [past('decoder', 'value'), splitHeads(k, linear(k, h, `${p}.self_attn.v_proj`, d, d), s.heads, hd)],
      { axis: 2 },
      `present.${i}.decoder.value`,
    );
    x = k.op('Add', [x, linear(k, attend(k, q, key, value, causal, d), `${p}.self_attn.out_proj`, d, d)]);
    // Cross-attention on the encoder states.
    h = layerNorm(k, x, `${p}.encoder_attn_layer_norm`, d);
    q = splitHeads(
      k,
      k.op('Mul', [linear(k, h, `${p}.encoder_attn.q_proj`, d, d), k.float(hd ** -0.5)]),
      s.heads,
      hd,
    );
    const ek = k.op(
      'Identity',
      [
        splitHeads(
          k,
          linear(k, 'encoder_hidden_states', `${p}.encoder_attn.k_proj`, d, d, false),
          s.heads,
          hd,
        ),
      ],
      {},
      `present.${i}.encoder.key`,
    );
    const ev = k.op(
      'Identity',
      [splitHeads(k, linear(k, 'encoder_hidden_states', `${p}.encoder_attn.v_proj`, d, d), s.heads, hd)],
      {},
      `present.${i}.encoder.value`,
    );
    x = k.op('Add', [x, linear(k, attend(k, q, ek, ev, null, d), `${p}.encoder_attn.out_proj`, d, d)]);
    x = k.op('Add', [x, mlp(k, layerNorm(k, x, `${p}.final_layer_norm`, d), p, d, s.ffn)]);
    for (const kind of ['decoder', 'encoder']) {
      for (const kv of ['key', 'value']) {
        outputs.push(
          valueInfo(`present.${i}.${kind}.${kv}`, FLOAT, [
            'batch_size',
            s.heads,
            kind === 'decoder' ? 'present_decoder_sequence_length' : 'encoder_sequence_length_out',
            hd,
          ]),
        );
      }
    }
  }
  x = layerNorm(k, x, 'layer_norm', d);
  k.op('MatMul', [x, k.op('Transpose', [tokens], { perm: [1, 0] })], {}, 'logits');
  return model(
    k,
    inputs,
    [valueInfo('logits', FLOAT, ['batch_size', 'decoder_sequence_length', VOCAB_SIZE]), ...outputs],
    'whisper_micro_decoder_merged',
  );
}

const FILES = [
  'onnx/encoder_model.onnx',
  'onnx/decoder_model_merged.onnx',
  'tokenizer.json',
  'tokenizer_config.json',
  'preprocessor_config.json',
  'generation_config.json',
  'config.json',
];

/** Builds whisper-micro-arch into `outDir` unless it is there at BUILD_VERSION (or `force`). */
export function buildWhisperMicroArch(outDir, { force = false, seed = 5150 } = {}) {
  const dir = resolve(outDir);
  const config = join(dir, 'config.json');
  if (!force && FILES.every((f) => existsSync(join(dir, f)))) {
    try {
      if (JSON.parse(readFileSync(config, 'utf8')).pitlane_build_version === BUILD_VERSION)
        return { dir, built: false };
    } catch {
      // rebuild
    }
  }
  const s = WHISPER_MICRO;
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  writeFileSync(join(dir, 'onnx', 'encoder_model.onnx'), buildEncoder(seed));
  writeFileSync(join(dir, 'onnx', 'decoder_model_merged.onnx'), buildDecoder(seed + 1));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson()));
  const special = {
    bos_token: '<|endoftext|>',
    eos_token: '<|endoftext|>',
    unk_token: '<|endoftext|>',
    pad_token: '<|endoftext|>',
  };
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify(
      { tokenizer_class: 'WhisperTokenizer', model_max_length: 1024, ...special, add_prefix_space: false },
      null,
      2,
    ),
  );
  writeFileSync(
    join(dir, 'preprocessor_config.json'),
    JSON.stringify(
      {
        feature_extractor_type: 'WhisperFeatureExtractor',
        processor_class: 'WhisperProcessor',
        feature_size: s.mels,
        sampling_rate: 16000,
        hop_length: 160,
        chunk_length: 30,
        n_fft: 400,
        n_samples: 480000,
        nb_max_frames: 3000,
        padding_side: 'right',
        padding_value: 0,
        return_attention_mask: false,
      },
      null,
      2,
    ),
  );
  const tokenIds = {
    decoder_start_token_id: id('<|startoftranscript|>'),
    eos_token_id: id('<|endoftext|>'),
    pad_token_id: id('<|endoftext|>'),
    bos_token_id: id('<|endoftext|>'),
  };
  writeFileSync(
    join(dir, 'generation_config.json'),
    JSON.stringify(
      {
        ...tokenIds,
        // Synthetic weights never learned to stop: a short cap keeps a run quick.
        max_length: 24,
        is_multilingual: true,
        lang_to_id: { '<|en|>': id('<|en|>') },
        task_to_id: { translate: id('<|translate|>'), transcribe: id('<|transcribe|>') },
        no_timestamps_token_id: id('<|notimestamps|>'),
        suppress_tokens: [],
        begin_suppress_tokens: [],
      },
      null,
      2,
    ),
  );
  writeFileSync(
    config,
    JSON.stringify(
      {
        _name: 'whisper-micro-arch',
        description: DESCRIPTION,
        synthetic_weights: true,
        architecture_of: 'openai/whisper (Hugging Face WhisperForConditionalGeneration)',
        pitlane_build_version: BUILD_VERSION,
        seed,
        model_type: 'whisper',
        architectures: ['WhisperForConditionalGeneration'],
        d_model: s.dModel,
        encoder_layers: s.encoderLayers,
        decoder_layers: s.decoderLayers,
        encoder_attention_heads: s.heads,
        decoder_attention_heads: s.heads,
        encoder_ffn_dim: s.ffn,
        decoder_ffn_dim: s.ffn,
        num_mel_bins: s.mels,
        max_source_positions: s.sourcePositions,
        max_target_positions: s.targetPositions,
        vocab_size: VOCAB_SIZE,
        is_encoder_decoder: true,
        activation_function: 'gelu',
        scale_embedding: false,
        use_cache: true,
        ...tokenIds,
      },
      null,
      2,
    ) + '\n',
  );
  return { dir, built: true };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out =
    process.argv.slice(2).find((a) => !a.startsWith('--')) ??
    join(dirname(fileURLToPath(import.meta.url)), '..', 'models', 'whisper-micro-arch');
  const t0 = performance.now();
  const r = buildWhisperMicroArch(out, { force: process.argv.includes('--force') });
  console.log(
    `${r.built ? 'built' : 'up to date'}: whisper-micro-arch (${DESCRIPTION}) in ${r.dir} (${((performance.now() - t0) / 1000).toFixed(2)} s)`,
  );
}
