import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Type } from '@sinclair/typebox';
import Fastify from 'fastify';
import { validatedBy, type RouteDoc } from './openapi.js';
import { HttpProblem } from './problem.js';
import { SCHEMA_VALIDATION, schemaRefusal } from './schema-refusal.js';

const TokenIds = Type.Array(Type.Integer({ minimum: 0, title: 'a token id' }), {
  minItems: 1,
  title: 'an array of token ids',
});
const Text = Type.String({ minLength: 1 });

const doc = {
  summary: 'a route',
  response: {},
  body: Type.Union(
    [
      Type.Object(
        {
          inputs: Type.Union(
            [Text, Type.Array(Text, { minItems: 1 }), TokenIds, Type.Array(TokenIds, { minItems: 1 })],
            {
              title: 'texts or token ids',
            },
          ),
          flag: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
          mode: Type.Optional(Type.Union([Type.Literal('a'), Type.Literal('b')])),
          options: Type.Optional(
            Type.Object({ keep: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
          ),
          closed: Type.Optional(
            Type.Object({}, { additionalProperties: false, description: 'nothing is taken here' }),
          ),
          count: Type.Optional(Type.Integer({ maximum: 3 })),
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ],
    { title: 'a JSON object' },
  ),
} satisfies RouteDoc;

/** What a request answers: the problem's status, message and field (the schema's refusal), or 200 `ok`. */
async function refusal(body: string, separator = ' '): Promise<[number, string, string | null]> {
  const app = Fastify(SCHEMA_VALIDATION);
  app.setErrorHandler((error, _request, reply) => {
    assert.ok(error instanceof HttpProblem);
    return reply.code(error.status).send({ message: error.message, param: error.param });
  });
  app.post('/', validatedBy(doc, schemaRefusal({ status: 422, separator })), () => ({
    message: 'ok',
    param: null,
  }));
  const res = await app.inject({
    method: 'POST',
    url: '/',
    headers: { 'content-type': 'application/json' },
    payload: body,
  });
  await app.close();
  const answer = res.json<{ message: string; param: string | null }>();
  return [res.statusCode, answer.message, answer.param];
}

test('a schema refusal names the field by its JSON path and says what a valid value is', async () => {
  const cases: [string, string, string | null][] = [
    ['{}', 'inputs is required', 'inputs'],
    ['[1]', 'the body must be a JSON object, got [1]', null],
    ['{"inputs": 5}', 'inputs must be texts or token ids, got 5', 'inputs'],
    ['{"inputs": ""}', 'inputs is an empty string', 'inputs'],
    ['{"inputs": []}', 'inputs is an empty array', 'inputs'],
    // The branch of the union that got furthest into the value is the one reported.
    ['{"inputs": ["a", 7]}', 'inputs[1] must be a string, got 7', 'inputs[1]'],
    ['{"inputs": [1, -2]}', 'inputs[1] must be a token id, got -2', 'inputs[1]'],
    ['{"inputs": [[1], []]}', 'inputs[1] is an empty array of token ids', 'inputs[1]'],
    ['{"inputs": [[1], "a"]}', 'inputs[1] must be an array of token ids, got "a"', 'inputs[1]'],
    ['{"inputs": "a", "flag": "true"}', 'flag must be true or false (or null), got "true"', 'flag'],
    ['{"inputs": "a", "mode": "c"}', 'mode must be "a" or "b", got "c"', 'mode'],
    ['{"inputs": "a", "count": 4}', 'count must be <= 3, got 4', 'count'],
    [
      '{"inputs": "a", "options": {"keep": true, "drop": 1}}',
      'options.drop not supported; the fields taken here are: keep',
      'options.drop',
    ],
    ['{"inputs": "a", "closed": {"x": 1}}', 'closed.x not supported; nothing is taken here', 'closed.x'],
    [
      '{"inputs": "a", "other": 1}',
      'other not supported; the fields taken here are: inputs, flag, mode, options, closed, count',
      'other',
    ],
    [
      `{"inputs": "${'x'.repeat(50)}", "flag": "${'y'.repeat(50)}"}`,
      'flag must be true or false (or null), got a string of 50 characters',
      'flag',
    ],
  ];
  for (const [body, message, param] of cases) {
    assert.deepEqual(await refusal(body), [422, message, param], body);
  }
  // No coercion, no removal, no defaults: what passes reaches the handler as sent.
  assert.deepEqual(await refusal('{"inputs": [1, 2], "flag": null}'), [200, 'ok', null]);
  assert.deepEqual(await refusal('null'), [200, 'ok', null]);
});

test("KServe's separator: `field: what`, and the body itself without one", async () => {
  assert.deepEqual(await refusal('{"inputs": "a", "options": 3}', ': '), [
    422,
    'options: must be an object, got 3',
    'options',
  ]);
  assert.deepEqual(await refusal('"x"', ': '), [422, 'the body must be a JSON object, got "x"', null]);
});
