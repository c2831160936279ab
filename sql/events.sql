-- The events table: every slate database has it, source and destination alike.
--
-- One row per event. On a source, insert_events (source.sql) gives ids consecutive from 1
-- and sets ts to the inserting transaction's timestamp, so all rows of one source
-- transaction share one ts. A destination receives the same rows, unchanged.
--
-- This file holds no transaction control of its own: apply it inside one transaction,
-- together with source.sql for a source, e.g.
--   psql --single-transaction -f sql/events.sql -f sql/source.sql
-- which is what `slate-replicator init-db` does. The object names are the ones databases
-- made by the old init-slate-db have, so both kinds of database look the same.

CREATE TABLE events (
    id    bigint                   NOT NULL,
    ts    timestamp with time zone NOT NULL,
    event jsonb                    NOT NULL,
    CONSTRAINT events_pkey PRIMARY KEY (id)
);

-- Lookups that query services make: by entity, by operation, by property, by the command
-- that produced an event, and by time.
CREATE INDEX events_event_entityname      ON events ((event #>> '{entityName}'));
CREATE INDEX events_event_operation       ON events ((event #>> '{operation}'));
CREATE INDEX events_event_propertyname    ON events ((event #>> '{propertyName}'));
CREATE INDEX events_event_entityid        ON events ((event #>> '{entityId}'));
CREATE INDEX events_event_metadata_command ON events ((event #>> '{metadata, command}'));
CREATE INDEX events_ts                    ON events (ts);
