/**
 * The ingest suite file (`kind: ingest`), written once in TypeBox: shared services, contestants with their set-up
 * check and preprocessing probe, the photo corpus, load-tool scenarios, correctness tolerances and hypotheses. It
 * validates suites (suite.ts) and types them.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ContestantSchema, DurationSchema, Name } from '../../suite-schema.js';

const Argv = Type.Array(Type.String(), { minItems: 1, description: 'argv (no shell)' });

const ServiceSchema = Type.Object(
  {
    description: Type.Optional(Type.String()),
    command: Argv,
    env: Type.Optional(Type.Record(Type.String(), Type.String())),
    cwd: Type.Optional(Type.String({ description: 'relative to the suite file' })),
    port: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.Literal('auto')])),
    grpc_port: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.Literal('auto')], {
        description:
          "the service's gRPC port ('auto': a free one): {grpc_port} in its command is replaced by it, and " +
          '{services.NAME.grpc_url} in contestant commands by grpc://127.0.0.1:<it>',
      }),
    ),
    health: ContestantSchema.properties.health,
    settings: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

const IngestContestantSchema = Type.Object(
  {
    ...Type.Omit(ContestantSchema, ['url']).properties,
    command: Argv,
    requires: Type.Optional(
      Type.Object(
        {
          check: Type.Array(Type.String(), {
            minItems: 1,
            description: 'argv that exits 0 when the set-up is there',
          }),
          install: Type.String({ description: 'the command that sets it up, shown when the check fails' }),
        },
        { additionalProperties: false },
      ),
    ),
    preprocess: Type.Optional(
      Type.Array(Type.String(), {
        minItems: 1,
        description:
          'argv of the preprocessing probe; {corpus} and {limit} are replaced; prints JSON {images, cpu_ms_per_image, wall_ms_median}',
      }),
    ),
  },
  { additionalProperties: false },
);

const IngestScenarioSchema = Type.Object(
  {
    description: Type.Optional(Type.String()),
    workers: Type.Integer({ minimum: 1 }),
    batch: Type.Integer({ minimum: 1 }),
    queue: Type.Optional(Type.Integer({ minimum: 1 })),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, description: 'images sent (default: the whole corpus)' }),
    ),
    quick_limit: Type.Optional(Type.Integer({ minimum: 1 })),
    faces: Type.Optional(Type.Boolean()),
    ocr: Type.Optional(Type.Boolean()),
    timeout: Type.Optional(DurationSchema),
  },
  { additionalProperties: false },
);

const HypothesisSchema = Type.Object(
  {
    statement: Type.String(),
    scenario: Type.String({ description: 'a scenario name, or preprocess' }),
    metric: Type.Union([
      Type.Literal('throughput'),
      Type.Literal('p50'),
      Type.Literal('peak_rss'),
      Type.Literal('cpu_per_request'),
      Type.Literal('time'),
    ]),
    at_least: Type.Number({
      exclusiveMinimum: 0,
      description: 'the factor the claim needs, oriented so that > 1 is better for the contestant',
    }),
    contestant: Type.Optional(Type.String({ description: 'default: every non-baseline contestant' })),
  },
  { additionalProperties: false },
);

export const IngestSuiteSchema = Type.Object(
  {
    kind: Type.Literal('ingest'),
    name: Type.Optional(Name),
    description: Type.Optional(Type.String()),
    services: Type.Optional(
      Type.Record(Type.String(), ServiceSchema, {
        description:
          'started once before the contestants; {services.NAME.url} (and {services.NAME.grpc_url}) in contestant commands',
      }),
    ),
    contestants: Type.Array(IngestContestantSchema, { minItems: 1 }),
    corpus: Type.Object(
      {
        dir: Type.String({ description: 'cache folder of generated corpora, relative to the suite file' }),
        count: Type.Integer({ minimum: 2 }),
        quick_count: Type.Optional(Type.Integer({ minimum: 2 })),
        sources: Type.Optional(Type.Array(Type.String(), { minItems: 1 })),
        seed: Type.Optional(Type.Integer()),
        exact_share: Type.Optional(Type.Number({ minimum: 0, maximum: 0.5 })),
        near_share: Type.Optional(Type.Number({ minimum: 0, maximum: 0.5 })),
      },
      { additionalProperties: false },
    ),
    warmup: Type.Optional(
      Type.Object({ images: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
    ),
    scenarios: Type.Record(Type.String(), IngestScenarioSchema),
    preprocess: Type.Optional(
      Type.Object(
        {
          limit: Type.Optional(Type.Integer({ minimum: 1 })),
          quick_limit: Type.Optional(Type.Integer({ minimum: 1 })),
          timeout: Type.Optional(DurationSchema),
        },
        { additionalProperties: false },
      ),
    ),
    repeats: Type.Optional(Type.Integer({ minimum: 1 })),
    correctness: Type.Optional(
      Type.Object(
        {
          iou: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
          min_score: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
          max_disagreement: Type.Optional(
            Type.Number({
              minimum: 0,
              maximum: 1,
              description: 'share of images whose detections may differ (resamplers move borderline boxes)',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    hypotheses: Type.Optional(Type.Array(HypothesisSchema)),
  },
  { additionalProperties: false },
);

export type IngestSuiteDocument = Static<typeof IngestSuiteSchema>;
export type HypothesisDocument = Static<typeof HypothesisSchema>;
