/** The built-in node types: the one frozen registry the CLI and the schema generator use. */
import { createNodeTypeRegistry, type NodeTypeRegistry } from '../pipeline/node.js';
import { Accumulator } from './basic/accumulator.js';
import { Buffer } from './basic/buffer.js';
import { Calculator } from './basic/calculator.js';
import { DataSource } from './basic/data-source.js';
import { Filter } from './basic/filter.js';
import { DataSink, PassThrough } from './basic/simple.js';
import { TextTransform } from './basic/text-transform.js';
import { AudioLevel } from './health/audio-level.js';
import { ChannelBalance } from './health/channel-balance.js';
import { ClippingDetector } from './health/clipping-detector.js';
import { EventCorrelator } from './health/event-correlator.js';
import { HealthEmitter } from './health/health-emitter.js';
import { SilenceDetector } from './health/silence-detector.js';
import { EspeakTTSNode } from './audio/espeak-tts.js';
import { AudioInput, AudioOutput, MediaReaderNode } from './audio/media-io.js';
import { WhisperSTT } from './audio/whisper.js';
import { FastVAD } from './audio/energy-vad.js';
import { SileroVAD } from './audio/silero-vad.js';
import { PocketSphinxSTT } from './pocketsphinx-stt.js';
import { Python } from './python.js';
import { SrtOutput } from './text/srt-output.js';
import { TextCollector } from './text/text-collector.js';
import { TextInput } from './text/text-input.js';
// Audio processing nodes (issue 15): resampling, chunking, buffering, utterances, transform, speaker split.
import { AudioBuffer } from './audio/audio-buffer.js';
import { AudioChannelSplitterNode } from './audio/channel-splitter.js';
import { AudioChunkerNode } from './audio/chunker.js';
import { AudioResampleNode, FastResampleNode } from './audio/resample.js';
import { AudioTransform } from './audio/transform.js';
import { AudioBufferAccumulatorNode } from './audio/utterance-accumulator.js';

export const BUILTIN_NODE_TYPES: NodeTypeRegistry = createNodeTypeRegistry([
  DataSource,
  DataSink,
  PassThrough,
  Calculator,
  TextTransform,
  Buffer,
  Filter,
  Accumulator,
  Python,
  // Stream-health and text nodes (RemoteMedia's; issue 15)
  AudioLevel,
  SilenceDetector,
  ClippingDetector,
  ChannelBalance,
  HealthEmitter,
  EventCorrelator,
  TextCollector,
  TextInput,
  SrtOutput,
  // Audio I/O, speech synthesis and Whisper recognition (nodes/audio/media-io.ts, espeak-tts.ts, whisper.ts)
  MediaReaderNode,
  AudioInput,
  AudioOutput,
  EspeakTTSNode,
  WhisperSTT,
  // Voice activity detection (docs/audio.md): Silero on ONNX Runtime, and the energy VAD.
  SileroVAD,
  FastVAD,
  // Audio processing nodes (issue 15)
  FastResampleNode,
  AudioChunkerNode,
  AudioBuffer,
  AudioBufferAccumulatorNode,
  AudioTransform,
  AudioChannelSplitterNode,
  AudioResampleNode,
  // Speech recognition in Python (issue 15): a Python class shipped with pitlane, on a CPython worker.
  PocketSphinxSTT,
]);
