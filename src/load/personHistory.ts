/**
 * The state behind personEvents(): the live persons, their properties and addresses, and
 * the commands that change them, one event at a time (see personEvents.ts for the shape
 * of the history). Everything comes from one seeded Random.
 */
import { Random } from './random.js';
import { CITIES, EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES, NICKNAMES, NOTE_SENTENCES, PHONE_KINDS, STREETS } from './personWords.js';
import type { JsonValue, SlateEvent } from './slateEvent.js';

/** Schema version of the Person and Address events we write. */
const SCHEMA_VERSION = 0;
/** Live persons kept at most; past it, destroying becomes likelier than creating. */
const POPULATION_LIMIT = 500;
/** Distinct users who issue the commands. */
const INITIATOR_COUNT = 7;

/** Lower-case ASCII for an e-mail local part: diacritics dropped, other letters removed. */
function asciiLocalPart(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '');
}

interface LivePerson {
  id: string;
  hasEmail: boolean;
  hasAge: boolean;
  phoneIds: string[];
  aliasIds: string[];
  addressId: string | undefined;
}

type PersonAction =
  | 'changeName'
  | 'setEmail'
  | 'removeEmail'
  | 'setAge'
  | 'removeAge'
  | 'addPhone'
  | 'removePhone'
  | 'addAlias'
  | 'removeAlias'
  | 'move'
  | 'addNote'
  | 'destroy';

/** How often each change happens to a person, relative to the others. */
const ACTION_WEIGHTS: Record<PersonAction, number> = {
  changeName: 8,
  setEmail: 14,
  removeEmail: 3,
  setAge: 8,
  removeAge: 1,
  addPhone: 12,
  removePhone: 4,
  addAlias: 6,
  removeAlias: 2,
  move: 9,
  addNote: 4,
  destroy: 3,
};

/** Probability that the next event starts a new person rather than changing a live one. */
const CREATE_PROBABILITY = 0.15;

export class PersonHistory {
  private readonly random: Random;
  private readonly initiators: string[];
  private readonly live: LivePerson[] = [];
  /** Events already decided (the rest of one command) and not yet handed out. */
  private readonly pending: SlateEvent[] = [];

  constructor(seed: number) {
    this.random = new Random(seed);
    this.initiators = Array.from({ length: INITIATOR_COUNT }, () => this.random.uuid());
  }

  next(): SlateEvent {
    if (this.pending.length === 0) this.decide();
    return this.pending.shift() as SlateEvent;
  }

  /** Chooses the next command and queues the events it writes (always at least one). */
  private decide(): void {
    const r = this.random;
    if (this.live.length < 3 || (this.live.length < POPULATION_LIMIT && r.chance(CREATE_PROBABILITY))) {
      this.create();
      return;
    }
    const index = r.int(0, this.live.length);
    const person = this.live[index] as LivePerson;
    const action = this.live.length >= POPULATION_LIMIT && r.chance(0.5) ? 'destroy' : r.weighted(ACTION_WEIGHTS);
    this.change(person, index, action);
  }

  private create(): void {
    const r = this.random;
    const person: LivePerson = {
      id: r.uuid(),
      hasEmail: false,
      hasAge: false,
      phoneIds: [],
      aliasIds: [],
      addressId: undefined,
    };
    this.live.push(person);
    const meta = this.metadata('Person.create');
    this.queue({ entityId: person.id, target: 'entity', operation: 'created' }, meta);
    const name = this.name();
    this.queue({ entityId: person.id, target: 'property', operation: 'added', propertyName: 'name', value: name }, meta);
    if (r.chance(0.7)) this.email(person, name, meta);
    if (r.chance(0.5)) this.age(person, meta);
    if (r.chance(0.4)) this.phone(person, meta);
  }

  private change(person: LivePerson, index: number, action: PersonAction): void {
    const r = this.random;
    const id = person.id;
    switch (action) {
      case 'changeName':
        this.queue(
          { entityId: id, target: 'property', operation: 'added', propertyName: 'name', value: this.name() },
          this.metadata('Person.changeName'),
        );
        return;
      case 'setEmail':
        this.email(person, this.name(), this.metadata('Person.setEmail'));
        return;
      case 'removeEmail':
        if (!person.hasEmail) return this.change(person, index, 'setEmail');
        person.hasEmail = false;
        this.queue({ entityId: id, target: 'property', operation: 'removed', propertyName: 'email' }, this.metadata('Person.removeEmail'));
        return;
      case 'setAge':
        this.age(person, this.metadata('Person.setAge'));
        return;
      case 'removeAge':
        if (!person.hasAge) return this.change(person, index, 'setAge');
        person.hasAge = false;
        this.queue({ entityId: id, target: 'property', operation: 'removed', propertyName: 'age' }, this.metadata('Person.removeAge'));
        return;
      case 'addPhone':
        this.phone(person, this.metadata('Person.addPhoneNumber'));
        return;
      case 'removePhone': {
        if (person.phoneIds.length === 0) return this.change(person, index, 'addPhone');
        const propertyId = person.phoneIds.splice(r.int(0, person.phoneIds.length), 1)[0] as string;
        this.queue(
          { entityId: id, target: 'propertyList', operation: 'removed', propertyName: 'phoneNumbers', propertyId },
          this.metadata('Person.removePhoneNumber'),
        );
        return;
      }
      case 'addAlias': {
        const propertyId = r.uuid();
        person.aliasIds.push(propertyId);
        this.queue(
          { entityId: id, target: 'propertyList', operation: 'added', propertyName: 'aliases', propertyId, value: r.pick(NICKNAMES) },
          this.metadata('Person.addAlias'),
        );
        return;
      }
      case 'removeAlias': {
        if (person.aliasIds.length === 0) return this.change(person, index, 'addAlias');
        const propertyId = person.aliasIds.splice(r.int(0, person.aliasIds.length), 1)[0] as string;
        this.queue(
          { entityId: id, target: 'propertyList', operation: 'removed', propertyName: 'aliases', propertyId },
          this.metadata('Person.removeAlias'),
        );
        return;
      }
      case 'move':
        this.move(person);
        return;
      case 'addNote':
        this.queue(
          { entityId: id, target: 'property', operation: 'added', propertyName: 'notes', value: this.note() },
          this.metadata('Person.addNote'),
        );
        return;
      case 'destroy': {
        this.live.splice(index, 1);
        const meta = this.metadata('Person.destroy');
        this.queue({ entityId: id, target: 'entity', operation: 'destroyed' }, meta);
        // A person's address goes with the person, as a cascading delete would do.
        if (person.addressId !== undefined) {
          this.queue({ entityName: 'Address', entityId: person.addressId, target: 'entity', operation: 'destroyed' }, meta);
        }
        return;
      }
    }
  }

  /** A move: a new Address entity with its properties, then the person's link to it. */
  private move(person: LivePerson): void {
    const r = this.random;
    const meta = this.metadata('Person.move');
    const addressId = r.uuid();
    const place = r.pick(CITIES);
    const address = (propertyName: string, value: JsonValue): void =>
      this.queue({ entityName: 'Address', entityId: addressId, target: 'property', operation: 'added', propertyName, value }, meta);
    this.queue({ entityName: 'Address', entityId: addressId, target: 'entity', operation: 'created' }, meta);
    address('street', `${r.int(1, 400)} ${r.pick(STREETS)}${r.chance(0.2) ? `, Apt ${r.int(1, 60)}` : ''}`);
    address('city', place.city);
    address('postalCode', String(r.int(10000, 99999)));
    address('country', place.country);
    if (person.addressId !== undefined) {
      this.queue({ entityId: person.id, target: 'relationship', operation: 'removed', propertyName: 'address' }, meta);
    }
    this.queue(
      { entityId: person.id, target: 'relationship', operation: 'added', propertyName: 'address', relationshipId: addressId },
      meta,
    );
    person.addressId = addressId;
  }

  private email(person: LivePerson, name: { first: string; last: string }, meta: SlateEvent['metadata']): void {
    const r = this.random;
    person.hasEmail = true;
    const local = [asciiLocalPart(name.first), asciiLocalPart(name.last)].filter((part) => part !== '').join('.') || 'person';
    const value = `${local}${r.chance(0.4) ? String(r.int(1, 100)) : ''}@${r.pick(EMAIL_DOMAINS)}`;
    this.queue({ entityId: person.id, target: 'property', operation: 'added', propertyName: 'email', value }, meta);
  }

  private age(person: LivePerson, meta: SlateEvent['metadata']): void {
    person.hasAge = true;
    this.queue(
      { entityId: person.id, target: 'property', operation: 'added', propertyName: 'age', value: this.random.int(18, 96) },
      meta,
    );
  }

  private phone(person: LivePerson, meta: SlateEvent['metadata']): void {
    const r = this.random;
    const propertyId = r.uuid();
    person.phoneIds.push(propertyId);
    const number = r.pick([
      () => `+1 (555) 01${r.int(0, 10)}${r.int(0, 10)}-${r.int(1000, 10000)}`,
      () => `+44 20 7946 0${r.int(100, 1000)}`,
      () => `+49 30 ${r.int(100000, 1000000)}`,
      () => `+81 3-${r.int(1000, 10000)}-${r.int(1000, 10000)}`,
    ])();
    this.queue(
      {
        entityId: person.id,
        target: 'propertyList',
        operation: 'added',
        propertyName: 'phoneNumbers',
        propertyId,
        value: { kind: r.pick(PHONE_KINDS), number, primary: person.phoneIds.length === 1 },
      },
      meta,
    );
  }

  private name(): { first: string; middle: string; last: string } {
    const r = this.random;
    const middle = r.chance(0.3) ? `${r.pick(FIRST_NAMES).charAt(0)}.` : '';
    return { first: r.pick(FIRST_NAMES), middle, last: r.pick(LAST_NAMES) };
  }

  /** One to roughly twenty sentences: from ~40 bytes to ~1.5 KB of text. */
  private note(): string {
    const r = this.random;
    const count = r.chance(0.8) ? r.int(1, 4) : r.int(4, 22);
    return Array.from({ length: count }, () => r.pick(NOTE_SENTENCES)).join(' ');
  }

  private metadata(command: string): SlateEvent['metadata'] {
    return { command, initiatorId: this.random.pick(this.initiators) };
  }

  private queue(
    fields: Omit<SlateEvent, 'entityName' | 'metadata' | 'version'> & { entityName?: string },
    metadata: SlateEvent['metadata'],
  ): void {
    this.pending.push({ entityName: 'Person', ...fields, metadata: { ...metadata }, version: SCHEMA_VERSION });
  }
}
