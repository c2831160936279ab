-- The objects only a source has, on top of events.sql: the id counter, the two forms of
-- insert_events, the notify trigger the replicator listens to, and the trigger that keeps
-- events append-only. A destination has none of them; that is how the replicator tells the
-- two kinds apart.
--
-- Apply after events.sql, in the same transaction (no transaction control in here):
--   psql --single-transaction -f sql/events.sql -f sql/source.sql
--
-- Names and contracts are those of databases made by the old init-slate-db, because
-- applications already call insert_events(text). Two things differ on purpose:
-- - the notification is sent once per INSERT statement and carries only an id, where the
--   old trigger sent one per row with the whole event, which made any insert of an event
--   over ~8000 bytes fail (a NOTIFY payload must stay under 8000 bytes);
-- - restore_events is not created: it needed the dblink extension and took a password as
--   an SQL argument. The `restore` command of slate-replicator takes its place.


-- The next id insert_events hands out: one row, initially 1.
-- insert_events holds an ACCESS EXCLUSIVE lock on this table until its transaction ends.
-- That serialises every transaction that adds events, so ids are allocated, inserted and
-- committed in the same order: a reader never sees id n+1 before id n, and the replicator
-- can treat "max(id) of a destination" as everything up to there.
CREATE TABLE id (
    id bigint NOT NULL,
    CONSTRAINT id_pkey PRIMARY KEY (id)
);
INSERT INTO id (id) VALUES (1);


-- insert_events(insertValues text) -> number of rows inserted
--
-- The form applications written for init-slate-db call. insertValues is the text that
-- follows `INSERT INTO events (id, ts, event) VALUES `: one tuple per event, the id of the
-- n-th tuple written as $1[n] (n = 1, 2, 3, ... in order) and every ts written as $2:
--   SELECT insert_events($$($1[1], $2, '{"a":1}'), ($1[2], $2, '{"b":2}')$$);
-- The function fills $1 with the next ids and $2 with transaction_timestamp().
--
-- Malformed text is refused with an error and a hint before anything is inserted: no
-- $1[n] at all, indices that are not 1, 2, 3, ... in order, fewer $2 than rows. The text
-- is scanned as a whole, so an event literal that itself contains "$1[" or "$2" can
-- confuse that scan; the jsonb form below has no such trap. After the insert, the rows
-- are checked to carry exactly the allocated ids and the transaction's ts, so a tuple that
-- computes its own id or ts (`$1[1] + 1`, `now() - interval '1 day'`) is refused too.
CREATE FUNCTION insert_events(insertValues text) RETURNS integer
LANGUAGE plpgsql AS $function$
DECLARE
    indices    numeric[];
    n_rows     integer;
    ts_uses    integer;
    first_id   bigint;
    last_id    bigint;
    insert_ts  timestamptz := transaction_timestamp();
    n_inserted bigint;
BEGIN
    indices := ARRAY(
        SELECT m[1]::numeric
        FROM regexp_matches(insertValues, '\$1\[([0-9]+)\]', 'g') AS m
    );
    n_rows := coalesce(array_length(indices, 1), 0);
    IF n_rows = 0 THEN
        RAISE EXCEPTION 'no rows to insert found: insertValues has no id parameter $1[n]'
            USING HINT = 'Write each row''s id as $1[n], n being the row''s 1-based position: '
                         '($1[1], $2, ''{"a":1}''), ($1[2], $2, ''{"b":2}'')';
    END IF;
    FOR n IN 1 .. n_rows LOOP
        IF indices[n] <> n THEN
            RAISE EXCEPTION 'id parameter indices are not consecutive from 1: row % uses $1[%] where $1[%] was expected',
                    n, indices[n], n
                USING HINT = 'The id parameters must be $1[1], $1[2], $1[3], ... in the order the rows are written';
        END IF;
    END LOOP;

    -- "$2" not followed by a digit, so $20 is not counted.
    ts_uses := (SELECT count(*) FROM regexp_matches(insertValues, '\$2(?![0-9])', 'g'));
    IF ts_uses < n_rows THEN
        RAISE EXCEPTION 'every row must use $2 for its ts: % row(s), but $2 appears % time(s)', n_rows, ts_uses
            USING HINT = 'insert_events sets ts itself, the same for all rows of a transaction: '
                         '($1[1], $2, ''{"a":1}'')';
    END IF;

    LOCK TABLE id IN ACCESS EXCLUSIVE MODE;
    UPDATE id SET id = id + n_rows RETURNING id - n_rows INTO first_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table id is empty: it must hold one row, the next event id'
            USING HINT = 'On a source with no events yet: INSERT INTO id VALUES (1)';
    END IF;
    last_id := first_id + n_rows - 1;

    EXECUTE 'INSERT INTO events (id, ts, event) VALUES ' || insertValues
        USING ARRAY(SELECT generate_series(first_id, last_id)), insert_ts;
    GET DIAGNOSTICS n_inserted = ROW_COUNT;

    IF n_inserted <> n_rows OR n_rows <> (
        SELECT count(*) FROM events WHERE events.id BETWEEN first_id AND last_id AND events.ts = insert_ts
    ) THEN
        RAISE EXCEPTION 'the rows of insertValues do not all take their id from $1[1] .. $1[%] and their ts from $2, unchanged', n_rows
            USING HINT = 'Use $1[n] as the id and $2 as the ts of every row, unchanged, and nothing else for them';
    END IF;
    RETURN n_rows;
END;
$function$;


-- insert_events(new_events jsonb) -> number of rows inserted
--
-- The form for new code: a JSON array of events, each a JSON object, inserted in array
-- order with consecutive ids and one ts (transaction_timestamp()), under the same lock as
-- the text form. The events travel as one bound parameter, so nothing needs quoting:
--   SELECT insert_events($1::jsonb)    -- $1 = '[{"a":1},{"b":2}]'
-- The cast matters: an untyped argument resolves to the text form. An empty array
-- inserts nothing and returns 0.
CREATE FUNCTION insert_events(new_events jsonb) RETURNS integer
LANGUAGE plpgsql AS $function$
DECLARE
    n_rows   integer;
    first_id bigint;
BEGIN
    IF jsonb_typeof(new_events) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'insert_events(jsonb) takes a JSON array of events, not %',
                coalesce(jsonb_typeof(new_events), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'SELECT insert_events(''[{"a":1}, {"b":2}]''::jsonb)';
    END IF;
    IF EXISTS (SELECT FROM jsonb_array_elements(new_events) AS e(event) WHERE jsonb_typeof(e.event) <> 'object') THEN
        RAISE EXCEPTION 'insert_events(jsonb): every event must be a JSON object'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    n_rows := jsonb_array_length(new_events);
    IF n_rows = 0 THEN
        RETURN 0;
    END IF;

    LOCK TABLE id IN ACCESS EXCLUSIVE MODE;
    UPDATE id SET id = id + n_rows RETURNING id - n_rows INTO first_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table id is empty: it must hold one row, the next event id'
            USING HINT = 'On a source with no events yet: INSERT INTO id VALUES (1)';
    END IF;

    INSERT INTO events (id, ts, event)
    SELECT first_id + e.ordinal - 1, transaction_timestamp(), e.event
    FROM jsonb_array_elements(new_events) WITH ORDINALITY AS e(event, ordinal);
    RETURN n_rows;
END;
$function$;


-- Events are never changed or removed: a destination is a copy of the source's rows, and
-- the replicator finds its place from max(id), which an UPDATE, DELETE or TRUNCATE on the
-- source would silently make wrong. The message is the one init-slate-db databases give.
CREATE FUNCTION filter_sql_command() RETURNS trigger
LANGUAGE plpgsql AS $function$
BEGIN
    RAISE EXCEPTION 'cannot perform SQL command on events table: %', TG_OP
        USING HINT = 'The events table is append-only; add events with insert_events.';
END;
$function$;

CREATE TRIGGER check_sql_command
    BEFORE UPDATE OR DELETE OR TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION filter_sql_command();


-- The wake-up for the replicator: once per INSERT statement on events, on channel
-- 'eventsinsert', the highest id the statement inserted, as text (e.g. '1042').
--
-- Once per statement rather than per row, and without the event: a NOTIFY payload must
-- stay under 8000 bytes or the inserting transaction fails, and a transaction that notifies
-- queues one entry per notification and takes a global lock at commit. The replicator reads
-- the rows itself; the notification only tells it that there is something to read.
-- The max id also keeps payloads distinct, since NOTIFY folds identical payloads sent in
-- one transaction: two inserting statements in a transaction give two notifications.
-- A statement that inserts no row sends nothing.
CREATE FUNCTION notify_event_insert() RETURNS trigger
LANGUAGE plpgsql AS $function$
DECLARE
    last_id bigint;
BEGIN
    SELECT max(id) INTO last_id FROM inserted;
    IF last_id IS NOT NULL THEN
        PERFORM pg_notify('eventsinsert', last_id::text);
    END IF;
    RETURN NULL;
END;
$function$;

CREATE TRIGGER notify_insert
    AFTER INSERT ON events
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION notify_event_insert();
