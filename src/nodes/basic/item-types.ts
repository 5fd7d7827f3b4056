/**
 * What the basic nodes expect of an item, and the one message for an item of the wrong JSON type
 * ("expected a number, got string"), so every node words it the same way.
 */
import { ItemError } from '../../core/errors.js';
import { jsonTypeOf } from '../../core/json.js';

/** The item error for an item that is not what the node takes (`expected` reads "a number", "a string"...). */
export function wrongItemType(expected: string, item: unknown): ItemError {
  return new ItemError(`expected ${expected}, got ${jsonTypeOf(item)}`);
}

/** The item as a number, or an item error. */
export function needNumber(item: unknown): number {
  if (typeof item !== 'number') throw wrongItemType('a number', item);
  return item;
}
