/** The shape of one slate event, as applications write it into `events.event`. */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** What an event changes: the entity itself, one property, one item of a list, or a link. */
export type EventTarget = 'entity' | 'property' | 'propertyList' | 'relationship';
export type EventOperation = 'created' | 'destroyed' | 'added' | 'removed';

export interface SlateEvent {
  entityName: string;
  entityId: string;
  target: EventTarget;
  operation: EventOperation;
  /** Absent on entity events. */
  propertyName?: string;
  /** The list item an event adds or removes (list properties only). */
  propertyId?: string;
  /** The entity a relationship points at. */
  relationshipId?: string;
  /** Absent on entity events and on removals. */
  value?: JsonValue;
  metadata: { command: string; initiatorId: string };
  /** The schema version of the entity the event was written for. */
  version: number;
}
