/** Buffer: groups items into arrays of `buffer_size`; the remainder goes out at end of stream. */
import { Type, type Static } from '@sinclair/typebox';
import { defineNodeType, type PipelineNode } from '../../pipeline/node.js';

const Params = Type.Object(
  { buffer_size: Type.Integer({ minimum: 1, description: 'Items per emitted array.' }) },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

export const Buffer = defineNodeType<Params>({
  name: 'Buffer',
  aliases: ['BufferNode'],
  role: 'transform',
  description: 'Emits arrays of buffer_size items; flushes a shorter remainder at end of stream.',
  params: Params,
  create: ({ params }): PipelineNode => {
    const size = params.buffer_size;
    let pending: unknown[] = [];
    return {
      process: (item) => {
        pending.push(item);
        if (pending.length < size) return undefined;
        const full = pending;
        pending = [];
        return full;
      },
      flush: () => {
        if (pending.length === 0) return undefined;
        const rest = pending;
        pending = [];
        return rest;
      },
    };
  },
});
