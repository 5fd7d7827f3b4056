/** The built-in node types: the one frozen registry the CLI and the schema generator use. */
import { createNodeTypeRegistry, type NodeTypeRegistry } from '../pipeline/node.js';
import { Accumulator } from './basic/accumulator.js';
import { Buffer } from './basic/buffer.js';
import { Calculator } from './basic/calculator.js';
import { DataSource } from './basic/data-source.js';
import { Filter } from './basic/filter.js';
import { DataSink, PassThrough } from './basic/simple.js';
import { TextTransform } from './basic/text-transform.js';
import { EspeakTTSNode } from './audio/espeak-tts.js';
import { AudioInput, AudioOutput, MediaReaderNode } from './audio/media-io.js';
import { WhisperSTT } from './audio/whisper.js';
import { Python } from './python.js';

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
  // Audio I/O, speech synthesis and Whisper recognition (nodes/audio/media-io.ts, espeak-tts.ts, whisper.ts)
  MediaReaderNode,
  AudioInput,
  AudioOutput,
  EspeakTTSNode,
  WhisperSTT,
]);
