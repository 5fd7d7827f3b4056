/**
 * The log levels and formats of the services (`--log-level`, `--log-format`), apart from the logger
 * (request-log.ts) so that the CLI can list them in `--help` without loading pino and fastify.
 */

/** The levels `--log-level` takes, from the most to the least severe. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The formats `--log-format` takes. */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
