/**
 * The HTTP suite file (YAML or JSON; `kind: http`, or no `kind`), written once in TypeBox: it validates suites
 * (suite.ts) and types them. Scenario names and fields follow the seed's benchmark.yaml (`concurrency_1:
 * {concurrency: 1, num_requests: 1000}`); open-loop scenarios add `rate`, `arrival` and `duration`. The seed's own
 * file (`scenarios:` as a list of `{name, concurrency, num_requests}`) is read as it is: inline, or named with
 * `scenarios: {file: benchmark.yaml}` (scenarios-file.ts).
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

/** A scenario as the seed's benchmark.yaml lists it: `{name, concurrency, num_requests}` (and pitlane's fields). */
export const SeedScenarioSchema = Type.Object(
  { name: Name, ...ScenarioSchema.properties },
  { additionalProperties: false },
);

/** The seed's list of scenarios. */
export const SeedScenarioListSchema = Type.Array(SeedScenarioSchema, { minItems: 1 });

/** Scenarios taken from another file: the seed's benchmark.yaml, as it is. */
export const ScenariosFileRefSchema = Type.Object(
  {
    file: Type.String({
      minLength: 1,
      description: "a benchmark.yaml whose `scenarios:` is the seed's list (or a map), relative to the suite",
    }),
    workload: Type.Optional(
      Type.String({
        description: "the workload of the file's scenarios that name none (default: the only one)",
      }),
    ),
  },
  { additionalProperties: false },
);

/**
 * A benchmark.yaml as the seed wrote it: `scenarios:` as a list of `{name, concurrency, num_requests}` (or
 * pitlane's map). Its other top-level fields are the seed clients' own settings and are left alone.
 */
export const ScenariosFileSchema = Type.Object({
  scenarios: Type.Union([SeedScenarioListSchema, Type.Record(Type.String(), ScenarioSchema)]),
});

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
    scenarios: Type.Union(
      [Type.Record(Type.String(), ScenarioSchema), SeedScenarioListSchema, ScenariosFileRefSchema],
      {
        description:
          "name → scenario; or the seed's list of {name, concurrency, num_requests}; or {file: benchmark.yaml}",
      },
    ),
    warmup: Type.Optional(
      Type.Object(
        { requests: Type.Optional(Type.Integer({ minimum: 0 })), duration: Type.Optional(DurationSchema) },
        { additionalProperties: false },
      ),
    ),
    stability: Type.Optional(
      Type.Object(
        {
          window: Type.Optional(DurationSchema),
          windows: Type.Optional(Type.Integer({ minimum: 2 })),
          tolerance: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
          max_windows: Type.Optional(Type.Integer({ minimum: 2 })),
        },
        {
          additionalProperties: false,
          description:
            'closed-loop scenarios given by num_requests run in windows until stable instead, as perf_analyzer does: windows of `window` (default 5s) until the last `windows` (default 3) each lie within `tolerance` (default 0.1, ±10%) of their mean throughput and median, at most `max_windows` (default 10); `pitlane bench --seed-sizes` runs num_requests as written',
        },
      ),
    ),
    open_loop: Type.Optional(
      Type.Object(
        {
          skip_above_capacity: Type.Optional(
            Type.Boolean({
              description:
                "skip an open-loop scenario for a contestant whose best closed-loop throughput on the same workload, measured earlier in the run, is below the scenario's rate (default false)",
            }),
          ),
        },
        { additionalProperties: false, description: 'how open-loop scenarios are run' },
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
export type SeedScenarioDocument = Static<typeof SeedScenarioSchema>;
export type ScenariosFileRefDocument = Static<typeof ScenariosFileRefSchema>;
export type CorrectnessDocument = Static<typeof CorrectnessSchema>;
export type CeilingDocument = Static<typeof CeilingSchema>;
