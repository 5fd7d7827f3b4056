/**
 * The OpenAPI 3.1 document (`GET /openapi.json`) and its docs page (`GET /docs`, Swagger UI served from the
 * package, no network) of every pitlane service, from route schemas written in TypeBox.
 *
 * Each service has one table of its routes (`RouteDocs`, in its own openapi.ts) keyed by `METHOD /pattern`
 * as fastify writes the route (`GET /v2/models/:model`). The same schemas validate: a route declared with
 * `validatedBy(entry, refusal)` has its parameters and body checked by fastify's ajv before the handler runs, and
 * its handler typed from them (@fastify/type-provider-typebox). A refusal is made by the API's formatter
 * (schema-refusal.ts): TEI 422, OpenAI 400 with `param`, KServe 400, ingest 400, each naming the field by its
 * JSON path, sent by the service's error handler in the API's shape. What depends on the running server (a
 * model's dimension or vocabulary, the models served, the limits given on the command line) stays in the
 * handlers, and the schemas' descriptions say so. Not validated from a schema: the KServe infer body, which its
 * streaming codec parses (binary tensor data after a JSON header, data arrays ajv must not walk; see
 * models/openapi.ts), and ingest's multipart uploads, which are spooled as they arrive. A route missing from the
 * table still appears in the document, without a summary; the OpenAPI test fails on it, so a new route cannot go
 * undocumented.
 *
 * @fastify/swagger learns routes from an onRoute hook, which must exist before the routes are declared; the
 * services declare theirs synchronously at the root, before any plugin has loaded, so its hooks are installed
 * here by calling the plugin function directly instead of through `register`.
 */
import { fastifySwagger } from '@fastify/swagger';
import { fastifySwaggerUi } from '@fastify/swagger-ui';
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { SchemaErrorFormatter } from './schema-refusal.js';

/** A response: a JSON schema (with a description), or another media type, or no body (`Type.Null()`). */
export type ResponseDoc = TSchema | { description: string; content: Record<string, { schema: TSchema }> };

/** What the document says of one route. */
export interface RouteDoc {
  readonly summary: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  readonly params?: TSchema;
  readonly querystring?: TSchema;
  readonly headers?: TSchema;
  /** A JSON body, or `{ content: { 'media/type': { schema } } }` for other or several media types. */
  readonly body?: TSchema | { content: Record<string, { schema: TSchema }> };
  /** Responses by status. */
  readonly response: Readonly<Record<number, ResponseDoc>>;
}

/** A service's routes, keyed by `METHOD /pattern` (fastify's pattern: `/v2/models/:model`). */
export type RouteDocs = Readonly<Record<string, RouteDoc>>;

export interface ApiDoc {
  readonly title: string;
  readonly description: string;
  readonly version: string;
  readonly tags?: readonly { name: string; description: string }[];
  readonly routes: RouteDocs;
}

/** A route as fastify declared it: method and pattern; hidden ones are the document's own. */
export interface ServedRoute {
  readonly method: string;
  readonly url: string;
  readonly hidden: boolean;
}

const served = new WeakMap<FastifyInstance, ServedRoute[]>();

/** The routes an app declared after registerOpenApi (HEAD routes fastify adds by itself left out). */
export function servedRoutes(app: FastifyInstance): readonly ServedRoute[] {
  return served.get(app) ?? [];
}

/** The key of a route in a RouteDocs table. */
export function routeKey(method: string, url: string): string {
  return `${method} ${url}`;
}

/**
 * Serves `GET /openapi.json` and `GET /docs` for the app's routes as `doc` describes them. Call it before the
 * routes are declared.
 */
export function registerOpenApi(app: FastifyInstance, doc: ApiDoc): void {
  const routes: ServedRoute[] = [];
  served.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue;
      routes.push({ method, url: route.url, hidden: route.schema?.hide === true });
    }
  });
  fastifySwagger(
    app,
    {
      openapi: {
        openapi: '3.1.0',
        info: { title: doc.title, description: doc.description, version: doc.version },
        ...(doc.tags !== undefined && { tags: [...doc.tags] }),
      },
      transform: ({ schema, url, route }) => {
        const method = [route.method].flat().find((m) => m !== 'HEAD') ?? 'GET';
        const routeDoc = doc.routes[routeKey(method, url)];
        // A route without a schema gets none (undefined), whatever the types say.
        const hidden = (schema as { hide?: boolean } | undefined)?.hide === true;
        if (routeDoc === undefined || hidden) return { schema, url };
        return { schema: { ...routeDoc, tags: routeDoc.tags ?? [] }, url };
      },
    },
    (err?: Error) => {
      if (err !== undefined) throw err;
    },
  );
  app.get('/openapi.json', { schema: { hide: true } }, (_request, reply) => reply.send(app.swagger()));
  // Through a plain plugin: swagger-ui's own registration checks that @fastify/swagger was registered. Its
  // function is async (its types say callback style).
  const swaggerUi = fastifySwaggerUi as unknown as (scope: FastifyInstance, opts: object) => Promise<void>;
  void app.register(async (scope) => {
    await swaggerUi(scope, { routePrefix: '/docs' });
  });
}

/** The parts of a request a route schema validates. */
export type RequestPart = 'params' | 'querystring' | 'body';
type RequestParts<D extends RouteDoc> = Pick<D, RequestPart>;

/**
 * The route options that make fastify validate a route's parameters and body (or the `parts` named) with the
 * schemas of its table entry (the same objects the document shows), refusing in the API's words (`refusal`,
 * made once per API with schemaRefusal). With `withTypeProvider<TypeBoxTypeProvider>()`, the handler's
 * `request.body`, `params` and `query` have the schemas' types (keep the table `satisfies RouteDocs`, so that
 * each entry keeps its own type). A body documented per media type is validated when it is JSON (fastify picks
 * the schema by Content-Type); other media types, such as multipart uploads, are read by the handler as they
 * stream.
 */
export function validatedBy<const D extends RouteDoc>(
  doc: D,
  refusal: SchemaErrorFormatter,
  parts: readonly RequestPart[] = ['params', 'querystring', 'body'],
): { schema: RequestParts<D>; schemaErrorFormatter: SchemaErrorFormatter } {
  const schema: Partial<Record<RequestPart, unknown>> = {};
  if (parts.includes('params') && doc.params !== undefined) schema.params = doc.params;
  if (parts.includes('querystring') && doc.querystring !== undefined) schema.querystring = doc.querystring;
  if (parts.includes('body') && doc.body !== undefined) schema.body = jsonBody(doc.body);
  return { schema: schema as RequestParts<D>, schemaErrorFormatter: refusal };
}

/** The schema a body is validated with: the schema, or of one documented per media type its JSON one. */
function jsonBody(body: NonNullable<RouteDoc['body']>): unknown {
  if (!('content' in body) || typeof body.content !== 'object') return body;
  const json = (body.content as Record<string, { schema: TSchema }>)['application/json'];
  return json === undefined ? undefined : { content: { 'application/json': json } };
}

/** A JSON response with a description. */
export function json(description: string, schema: TSchema): TSchema {
  return { ...schema, description };
}

/** A response without a body. */
export function empty(description: string): TSchema {
  return Type.Null({ description });
}

/** A text response (Prometheus metrics and the like). */
export function text(description: string, mediaType = 'text/plain'): ResponseDoc {
  return { description, content: { [mediaType]: { schema: Type.String() } } };
}
