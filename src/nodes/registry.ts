/** The built-in node types: the one frozen registry the CLI and the schema generator use. */
import { createNodeTypeRegistry, type NodeTypeRegistry } from '../pipeline/node.js';
import { Accumulator } from './basic/accumulator.js';
import { Buffer } from './basic/buffer.js';
import { Calculator } from './basic/calculator.js';
import { DataSource } from './basic/data-source.js';
import { Filter } from './basic/filter.js';
import { DataSink, PassThrough } from './basic/simple.js';
import { TextTransform } from './basic/text-transform.js';
import { Python } from './python.js';
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
  // Audio processing nodes (issue 15)
  FastResampleNode,
  AudioChunkerNode,
  AudioBuffer,
  AudioBufferAccumulatorNode,
  AudioTransform,
  AudioChannelSplitterNode,
  AudioResampleNode,
]);
