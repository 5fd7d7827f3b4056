/**
 * TextInput: where text enters a pipeline (RemoteMedia's CLI node, examples/cli/remotemedia-cli/src/
 * pipeline_nodes/text_input.rs). In RemoteMedia it is a pass-through the CLI feeds with its `--input` as text; in
 * pitlane it is a source that reads the pipeline's input stream, one item per input line: a JSON string is that
 * text, a line that is not JSON is its raw text, so plain text files work line by line; other JSON values pass
 * through unchanged, as they would through RemoteMedia's node. `encoding` is informational, as in RemoteMedia
 * (input is UTF-8).
 */
import { Type, type Static } from '@sinclair/typebox';
import { defineNodeType, InputParseFailure, type SourceNode } from '../../pipeline/node.js';

const Params = Type.Object(
  {
    encoding: Type.Optional(
      Type.String({ default: 'utf-8', description: 'Informational: input is read as UTF-8. Default utf-8.' }),
    ),
  },
  { additionalProperties: false },
);
type Params = Static<typeof Params>;

/** The input records as text items: unparsable lines become their raw text. */
async function* textItems(input: AsyncIterable<unknown>): AsyncGenerator {
  for await (const record of input) {
    // A line over the length limit has a reason and only its start as text: it stays an input error.
    if (record instanceof InputParseFailure && record.reason === undefined) yield record.text;
    else yield record;
  }
}

export const TextInput = defineNodeType<Params>({
  name: 'TextInput',
  aliases: [],
  role: 'source',
  description:
    'Reads the input stream as text, one item per line: JSON strings, and raw text for lines that are not JSON (RemoteMedia).',
  params: Params,
  create: (): SourceNode => ({
    readsInput: true,
    items: (input) => (input === undefined ? [] : textItems(input)),
  }),
});
