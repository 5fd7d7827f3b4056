/**
 * The `operation` (or `op`) parameter of the basic nodes: one of a fixed list of names, written once so that
 * the validator, the TypeScript type and the JSON Schema for editors all come from that list.
 */
import { Type, type TLiteral, type TUnion } from '@sinclair/typebox';

/** A parameter whose value is one of `names`. */
export function oneOf<const T extends readonly string[]>(
  names: T,
  description: string,
): TUnion<TLiteral<T[number]>[]> {
  return Type.Union(
    names.map((name) => Type.Literal(name)),
    { description },
  );
}
