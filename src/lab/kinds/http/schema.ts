/**
 * The HTTP suite file (YAML or JSON; `kind: http`, or no `kind`), written once in TypeBox: it validates suites
 * (suite.ts) and types them. Scenario names and fields follow the seed's benchmark.yaml (`concurrency_1:
 * {concurrency: 1, num_requests: 1000}`); open-loop scenarios add `rate`, `arrival` and `duration`.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ContestantSchema, DurationSchema, Name } from '../../suite-schema.js';

export const WorkloadSchema = Type.Object(
  {
    method: Type.Optional(
      Type.Union(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'].map((m) => Type.Literal(m))),
    ),
    path: Type.String({ pattern: '^/', description: 'request path, e.g. /v1/embeddings' }),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    body: Type.Optional(Type.Unknown({ description: 'one JSON body for every request' })),
    bodies: Type.Optional(
      Type.Object(
        {
          file: Type.Optional(Type.String({ description: 'JSONL file of bodies, relative to the suite' })),
          items: Type.Optional(Type.Array(Type.Unknown(), { minItems: 1 })),
          order: Type.Optional(Type.Union([Type.Literal('round_robin'), Type.Literal('random')])),
          seed: Type.Optional(Type.Integer()),
        },
        { additionalProperties: false },
      ),
    ),
    generator: Type.Optional(
      Type.String({ description: 'JS module whose default export (index) => body makes the bodies' }),
    ),
    expect_status: Type.Optional(Type.Integer({ minimum: 100, maximum: 599 })),
    timeout: Type.Optional(DurationSchema),
  },
  { additionalProperties: false },
);

export const ScenarioSchema = Type.Object(
  {
    description: Type.Optional(Type.String()),
    workload: Type.Optional(Type.String()),
    concurrency: Type.Optional(Type.Integer({ minimum: 1, description: 'closed loop: concurrent clients' })),
    num_requests: Type.Optional(Type.Integer({ minimum: 1 })),
    duration: Type.Optional(DurationSchema),
    rate: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'open loop: arrivals per second' })),
    arrival: Type.Optional(Type.Union([Type.Literal('constant'), Type.Literal('poisson')])),
    max_in_flight: Type.Optional(Type.Integer({ minimum: 1 })),
    seed: Type.Optional(Type.Integer()),
    thresholds: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: false },
);

export const CorrectnessSchema = Type.Object(
  {
    mode: Type.Union(['exact', 'json_tolerance', 'cosine', 'custom', 'none'].map((m) => Type.Literal(m))),
    sample: Type.Optional(Type.Integer({ minimum: 1, description: 'requests compared per workload' })),
    tolerance: Type.Optional(Type.Number({ minimum: 0 })),
    path: Type.Optional(Type.String({ pattern: '^\\$', description: 'JSON path of the vectors (cosine)' })),
    min_cosine: Type.Optional(Type.Number({ minimum: -1, maximum: 1 })),
    module: Type.Optional(Type.String({ description: 'custom: module exporting compare(a, b)' })),
    ignore: Type.Optional(
      Type.Array(Type.String({ pattern: '^\\$' }), { description: 'JSON paths left out' }),
    ),
  },
  { additionalProperties: false },
);

export const CeilingSchema = Type.Object(
  {
    name: Name,
    description: Type.String({ description: 'what the limit is, e.g. a raw in-process engine loop' }),
    command: Type.Array(Type.String(), {
      minItems: 1,
      description: 'argv (no shell); prints one JSON object on stdout',
    }),
    cwd: Type.Optional(Type.String({ description: 'relative to the suite file' })),
    env: Type.Optional(Type.Record(Type.String(), Type.String())),
    quick_args: Type.Optional(Type.Array(Type.String(), { description: 'appended under --quick' })),
    timeout: Type.Optional(DurationSchema),
    scenarios: Type.Record(
      Type.String(),
      Type.Object(
        {
          throughput: Type.Optional(
            Type.String({ pattern: '^\\$', description: 'JSON path of a rate per second in its output' }),
          ),
          p50_ms: Type.Optional(
            Type.String({ pattern: '^\\$', description: 'JSON path of a median latency in ms' }),
          ),
        },
        { additionalProperties: false },
      ),
      { description: 'scenario name → where its figures are in the output' },
    ),
  },
  { additionalProperties: false },
);

export const SuiteSchema = Type.Object(
  {
    kind: Type.Optional(Type.Literal('http', { description: 'the suite kind; http when absent' })),
    name: Type.Optional(Name),
    description: Type.Optional(Type.String()),
    contestants: Type.Array(ContestantSchema, { minItems: 1 }),
    workloads: Type.Record(Type.String(), WorkloadSchema),
    scenarios: Type.Record(Type.String(), ScenarioSchema),
    warmup: Type.Optional(
      Type.Object(
        { requests: Type.Optional(Type.Integer({ minimum: 0 })), duration: Type.Optional(DurationSchema) },
        { additionalProperties: false },
      ),
    ),
    repeats: Type.Optional(Type.Integer({ minimum: 1 })),
    cold_start: Type.Optional(
      Type.Object({ runs: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
    ),
    thresholds: Type.Optional(Type.Array(Type.String())),
    correctness: Type.Optional(CorrectnessSchema),
    ceilings: Type.Optional(
      Type.Array(CeilingSchema, { description: 'limits measured once, not contestants' }),
    ),
  },
  { additionalProperties: false },
);

export type SuiteDocument = Static<typeof SuiteSchema>;
export type WorkloadDocument = Static<typeof WorkloadSchema>;
export type ScenarioDocument = Static<typeof ScenarioSchema>;
export type CorrectnessDocument = Static<typeof CorrectnessSchema>;
export type CeilingDocument = Static<typeof CeilingSchema>;
