-- Page costs that still grew with a user's history after 0008 (measured with auto_explain on
-- bench/seed.sql's heavy user):
--  * a person's past meetings are listed newest first by (starts_at, meeting_id), the keyset;
--    the index stopped at starts_at, so every attendee row of the person was read and sorted;
--  * every listed meeting aggregated its attendees' names per row (half of Today's statement);
--  * the (user_id, search) GIN indexes read the user's whole posting list for user_id before
--    intersecting it with the word's: the cost of a search grew with the user's row count.

-- 1. The person's meetings in keyset order; the old index is its prefix.
create index attendees_person_meeting_time_idx on attendees (user_id, person_id, starts_at, meeting_id);
drop index attendees_person_time_idx;
alter index attendees_person_meeting_time_idx rename to attendees_person_time_idx;

-- 2. Who attends a meeting, as lists show it (the user excluded; organizer first, then by
--    name), kept on the meeting by the database for every writer: sync, demo data, imports.
alter table meetings add column attendee_names text not null default '';

create function meetings_refresh_attendee_names(ids uuid[]) returns void language sql as $$
    update meetings m set attendee_names = n.names
    from (select mid, coalesce((select string_agg(coalesce(p.name, p.email), ', '
                                               order by a.is_organizer desc, coalesce(p.name, p.email))
                                from attendees a join people p on p.id = a.person_id
                                where a.meeting_id = mid and not p.is_me), '') as names
          from unnest(ids) as mid) n
    where m.id = n.mid and m.attendee_names is distinct from n.names
$$;

update meetings m set attendee_names = coalesce((
    select string_agg(coalesce(p.name, p.email), ', '
                      order by a.is_organizer desc, coalesce(p.name, p.email))
    from attendees a join people p on p.id = a.person_id
    where a.meeting_id = m.id and not p.is_me), '');

-- Statement-level, so a sync page of events costs one update, whichever path wrote it.
create function attendees_names_in() returns trigger language plpgsql as $$
begin
    perform meetings_refresh_attendee_names(array(select distinct meeting_id from new_rows));
    return null;
end $$;
create trigger attendees_named_in after insert on attendees
    referencing new table as new_rows
    for each statement execute function attendees_names_in();

-- No trigger on delete: the only writer that deletes a live meeting's attendees is sync, which
-- deletes and re-inserts an edited event's rows and then refreshes those meetings itself
-- (src/calendar/store.rs), so an edit that keeps the attendees writes no meeting row.

create function attendees_names_changed() returns trigger language plpgsql as $$
begin
    perform meetings_refresh_attendee_names(array(
        select meeting_id from new_rows union select meeting_id from old_rows));
    return null;
end $$;
create trigger attendees_named_changed after update on attendees
    referencing old table as old_rows new table as new_rows
    for each statement execute function attendees_names_changed();

-- A person renamed (the directory learns a display name) renames them in their meetings. A
-- row trigger on the name columns with a WHEN test: the counters' updates of people (every
-- sync page) never name these columns, and an upsert that changes nothing is filtered in C
-- before any function runs (a statement-level version joining the transition tables cost a
-- third of each attendee write).
create function people_name_changed() returns trigger language plpgsql as $$
begin
    perform meetings_refresh_attendee_names(array(
        select a.meeting_id from attendees a
        where a.user_id = new.user_id and a.person_id = new.id));
    return null;
end $$;
create trigger people_named_changed
    after update of name, email, is_me on people
    for each row
    when (coalesce(old.name, old.email) is distinct from coalesce(new.name, new.email)
          or old.is_me is distinct from new.is_me)
    execute function people_name_changed();

create or replace view meeting_rows as
select m.id, m.user_id, m.title, m.starts_at, m.ends_at, m.all_day, m.start_date, m.join_url,
       m.status, m.is_meeting, m.series_id,
       (select s.title from series s where s.id = m.series_id) as series_title,
       m.attendee_names as people
from meetings m;

-- 3. Text search scoped to the owner inside one GIN index: each row's vector gains a lexeme
--    naming its owner, and a query requires it. GIN intersects the word's posting list with the
--    owner's by skipping through the latter, so a search costs about its matches, not the
--    user's history (and never another tenant's rows). New rows wait in the index's pending
--    list until a vacuum merges them, and every search reads that list whole: it is kept to
--    256 kB (the default, 4 MB, made a search after a big sync 10× slower until autovacuum ran).
create function owned_tsvector(search tsvector, owner uuid) returns tsvector
    language sql immutable parallel safe
    as $$ select search || array_to_tsvector(array['~' || owner::text]) $$;
create function owned_tsquery(query tsquery, owner uuid) returns tsquery
    language sql immutable parallel safe
    -- A query without lexemes (only stop words or punctuation) stays empty and matches nothing,
    -- rather than becoming "every row of the owner".
    as $$ select case when numnode(query) = 0 then query
                      else query && quote_literal('~' || owner::text)::tsquery end $$;

drop index meetings_search_idx;
create index meetings_search_idx on meetings using gin (owned_tsvector(search, user_id))
    with (gin_pending_list_limit = 256);
drop index notes_search_idx;
create index notes_search_idx on notes using gin (owned_tsvector(search, user_id))
    with (gin_pending_list_limit = 256);
drop index items_search_idx;
create index items_search_idx on items using gin (owned_tsvector(search, user_id))
    with (gin_pending_list_limit = 256);
drop index people_search_idx;
create index people_search_idx on people using gin (owned_tsvector(search, user_id))
    with (gin_pending_list_limit = 256);

-- The owner is checked twice: by the owner's lexeme in the text index, and per row written as
-- `(user_id = owner) is true`, which no B-tree can answer (and "not removed" as `removed is
-- not true`, which no partial index's predicate matches), so that the planner never trades
-- the text index for a scan of the owner's whole history on a stale estimate (a freshly
-- written pending list makes the text index look expensive).
-- PL/pgSQL rather than SQL: a SQL function with its own SET is never inlined and plans its
-- four-branch union again on every call (two thirds of the search statement's time);
-- PL/pgSQL keeps the plan for the session.
create or replace function search_candidates(owner uuid, query tsquery, per_kind bigint)
returns table (kind text, id uuid, meeting_id uuid, source uuid, rank double precision)
language plpgsql stable
set enable_seqscan = off
set enable_indexscan = off
as $$
begin
    return query
    (select 'meeting'::text, m.id, m.id, m.id, (ts_rank(m.search, query) * 1.2)::double precision
     from meetings m
     where owned_tsvector(m.search, m.user_id) @@ owned_tsquery(query, owner)
       and (m.user_id = owner) is true and m.status <> 'cancelled'
     limit per_kind)
    union all
    (select 'note'::text, n.id, n.meeting_id, n.id, (ts_rank(n.search, query) * 1.1)::double precision
     from notes n
     where owned_tsvector(n.search, n.user_id) @@ owned_tsquery(query, owner) and (n.user_id = owner) is true
     limit per_kind)
    union all
    (select i.kind, i.note_id, i.meeting_id, i.id, ts_rank(i.search, query)::double precision
     from items i
     where owned_tsvector(i.search, i.user_id) @@ owned_tsquery(query, owner)
       and (i.user_id = owner) is true and i.removed is not true
     limit per_kind)
    union all
    (select 'person'::text, p.id, null::uuid, p.id, (ts_rank(p.search, query) * 1.3)::double precision
     from people p
     where owned_tsvector(p.search, p.user_id) @@ owned_tsquery(query, owner) and (p.user_id = owner) is true
     limit per_kind);
end $$;
