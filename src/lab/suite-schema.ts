/**
 * What the suite files of every kind share, in TypeBox: names, durations (and their parsing), and contestants
 * (a command or a URL, health check, settings, baseline). Each kind's schema (kinds/<kind>/schema.ts) builds on
 * these and adds its `kind` field; kinds/registry.ts unites them into the one suite-file schema.
 */
import { Type, type Static } from '@sinclair/typebox';

/** A duration: seconds as a number, or a string with a unit: `500ms`, `10s`, `2m`. */
export const DurationSchema = Type.Union([
  Type.Number({ exclusiveMinimum: 0, description: 'seconds' }),
  Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m)$', description: 'e.g. 500ms, 10s, 2m' }),
]);

export const Name = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$',
  description: 'letters, digits, _ . -',
});

export const ContestantSchema = Type.Object(
  {
    name: Name,
    command: Type.Optional(
      Type.Array(Type.String(), {
        minItems: 1,
        description: 'argv (no shell); {port} is replaced by the port',
      }),
    ),
    url: Type.Optional(Type.String({ pattern: '^https?://', description: 'an already-running service' })),
    env: Type.Optional(Type.Record(Type.String(), Type.String())),
    cwd: Type.Optional(Type.String({ description: 'relative to the suite file' })),
    port: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.Literal('auto')])),
    health: Type.Optional(
      Type.Object(
        {
          url: Type.Optional(Type.String({ description: 'default http://127.0.0.1:{port}/health' })),
          status: Type.Optional(Type.Integer({ minimum: 100, maximum: 599 })),
          timeout: Type.Optional(DurationSchema),
          interval: Type.Optional(DurationSchema),
        },
        { additionalProperties: false },
      ),
    ),
    stop_grace: Type.Optional(DurationSchema),
    settings: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), { description: 'recorded and compared across contestants' }),
    ),
    baseline: Type.Optional(Type.Boolean({ description: 'the contestant the others are compared to' })),
  },
  { additionalProperties: false },
);

export type ContestantDocument = Static<typeof ContestantSchema>;

/** Parses `10s`, `500ms`, `2m` or a number of seconds into milliseconds. */
export function durationMs(d: number | string): number {
  if (typeof d === 'number') return d * 1000;
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)$/.exec(d);
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}
