/**
 * Realistic, reproducible events for load and tests: the history of a population of
 * Person entities in the shape slate applications write.
 *
 * Each event mutates one entity: an entity is `created` or `destroyed`; a single-valued
 * property (`name`, `email`, `age`, `notes`) is set with `added` (again, to change it) or
 * cleared with `removed`; a list property (`phoneNumbers`, `aliases`) gets items `added` or
 * `removed` by `propertyId`; a relationship (`address`) points at an Address entity by
 * `relationshipId`. A move creates the Address entity and its properties first, then
 * points the person at it. Names and places are drawn from many languages, with
 * apostrophes, so the text takes every path an application's text would.
 *
 * Everything comes from one seeded Random: the same seed gives the same events.
 * Events are small (a few hundred bytes); an occasional long note makes one up to ~2 KB,
 * far below the ~7,900 bytes a legacy source's per-row notify trigger can carry.
 */
import { PersonHistory } from './personHistory.js';
import type { SlateEvent } from './slateEvent.js';

/** An endless, reproducible stream of Person (and Address) events for `seed`. */
export function* personEvents(seed: number): Generator<SlateEvent, never, undefined> {
  const history = new PersonHistory(seed);
  for (;;) yield history.next();
}

/** The first `count` events of the stream for `seed`. */
export function takePersonEvents(seed: number, count: number): SlateEvent[] {
  const stream = personEvents(seed);
  return Array.from({ length: count }, () => stream.next().value);
}
