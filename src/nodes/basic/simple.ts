/** DataSink and PassThrough: the nodes that hand items on unchanged. */
import { Type } from '@sinclair/typebox';
import { defineNodeType, type PipelineNode } from '../../pipeline/node.js';

const NoParams = Type.Object({}, { additionalProperties: false });
const identity: PipelineNode = { process: (item) => item };

export const DataSink = defineNodeType<Record<string, never>>({
  name: 'DataSink',
  aliases: ['DataSinkNode'],
  role: 'sink',
  description: 'Collects items: what reaches a DataSink is the pipeline output.',
  params: NoParams,
  create: () => identity,
});

export const PassThrough = defineNodeType<Record<string, never>>({
  name: 'PassThrough',
  // PassthroughNode, Echo and EchoNode: RemoteMedia's other spellings of the same node (its test fixtures,
  // generated SDK schemas and docker-node examples).
  aliases: ['PassThroughNode', 'PassthroughNode', 'Echo', 'EchoNode'],
  role: 'transform',
  description: 'Outputs each item unchanged.',
  params: NoParams,
  create: () => identity,
});
