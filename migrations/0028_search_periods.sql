-- Text search whose cost does not grow with a user's history (bench/run: "budget" at scale 10,
-- twenty years of history, matched 6,977 meetings, 13,844 notes and 20,004 items; finding the
-- candidates took 10.5 ms of the page, and the whole page took 4.7 ms at scale 1).
--
-- A GIN index can only hand over every match at once, so a search paid for all the user's
-- matches even though it keeps about two hundred per kind; a word typed as a prefix ("bud")
-- even gathered every match of every user. Now every word of a row is indexed under its owner
-- and its year ('9bed7d092026:budget': the first 8 hex digits of the owner's id, the year), so
-- one lookup finds one user's matches of one year: a search walks the years newest first and
-- stops as soon as every kind has its candidates. A common word costs the most recent year or
-- two, whatever the history; a rare one costs one cheap lookup per year of history. (Another
-- user whose id starts alike shares the keys, not the rows: each row's owner is checked.)
--
-- The year is a meeting's start, a note's last edit and an item's creation: what a search
-- shows first is what happened last. People have no year and keep the owner's lexeme
-- (migrations/0009).
--
-- Measured while choosing (50,000 meetings inserted into a copy of the table): rewriting the
-- vector's text form with a regular expression, which keeps positions, cost 41 µs a row; an
-- array of prefixed lexemes costs 13 µs more than the previous entry, and sync writes every
-- meeting through it. Without positions the index answers a query relaxed to what it can
-- check (its indexable part, `querytree`, with phrases as plain AND), and each candidate row
-- is then matched against the real query and vector.

create function search_period(at timestamptz) returns int
    language sql immutable parallel safe
    as $$ select extract(year from timezone('UTC', at))::int $$;

create function search_key_prefix(owner uuid, period int) returns text
    language sql immutable parallel safe
    as $$ select left(owner::text, 8) || period::text || ':' $$;

-- chr(1) cannot occur in a lexeme: the parser treats control characters as blanks.
create function period_tsvector(search tsvector, owner uuid, period int) returns tsvector
    language sql immutable parallel safe
    as $$ select case when length(search) = 0 then search
                      else array_to_tsvector(string_to_array(
                          search_key_prefix(owner, period)
                          || array_to_string(tsvector_to_array(search),
                                             chr(1) || search_key_prefix(owner, period)),
                          chr(1))) end $$;

-- The index's side of `query` for one year: null when nothing of it can be looked up (only
-- stop words, or only words to leave out). Lexemes are quoted in the text form, with quotes
-- and backslashes inside doubled or escaped.
create function period_tsquery(query tsquery, owner uuid, period int) returns tsquery
    language sql immutable parallel safe
    as $$ select case when querytree(query) in ('', 'T') then null
                      else regexp_replace(
                          regexp_replace(querytree(query), '<(-|[0-9]+)>', '&', 'g'),
                          '''((?:[^''\\]|''''|\\.)*)''',
                          '''' || search_key_prefix(owner, period) || '\1''', 'g')::tsquery end $$;

drop index meetings_search_idx;
create index meetings_search_idx on meetings
    using gin (period_tsvector(search, user_id, search_period(starts_at)))
    with (gin_pending_list_limit = 256);
drop index notes_search_idx;
create index notes_search_idx on notes
    using gin (period_tsvector(search, user_id, search_period(updated_at)))
    with (gin_pending_list_limit = 256);
drop index items_search_idx;
create index items_search_idx on items
    using gin (period_tsvector(search, user_id, search_period(created_at)))
    with (gin_pending_list_limit = 256);

-- The years to walk: from the newest to the oldest year holding any of the owner's meetings,
-- notes or items, each end one step down an index that leads with the owner. PL/pgSQL keeps
-- the plan for the session (a SQL function with its own SET is planned again on every call:
-- 2 ms here), and index scans are allowed again: search_candidates turns them off for its text
-- searches.
create function search_periods(owner uuid, out newest int, out oldest int)
language plpgsql stable
set enable_indexscan = on
as $$
begin
    select search_period(max(t)), search_period(min(t)) into newest, oldest from (
        (select starts_at as t from meetings where user_id = owner order by starts_at limit 1)
        union all
        (select starts_at from meetings where user_id = owner order by starts_at desc limit 1)
        union all
        (select updated_at from notes where user_id = owner order by updated_at limit 1)
        union all
        (select updated_at from notes where user_id = owner order by updated_at desc limit 1)
        union all
        (select created_at from items where user_id = owner and kind = 'action' and not removed
         order by created_at limit 1)
        union all
        (select created_at from items where user_id = owner and kind = 'action' and not removed
         order by created_at desc limit 1)
        union all
        (select created_at from items where user_id = owner and kind = 'decision' and not removed
         order by created_at limit 1)
        union all
        (select created_at from items where user_id = owner and kind = 'decision' and not removed
         order by created_at desc limit 1)
        union all
        (select created_at from items where user_id = owner and kind = 'question' and not removed
         order by created_at limit 1)
        union all
        (select created_at from items where user_id = owner and kind = 'question' and not removed
         order by created_at desc limit 1)) ends;
end $$;

-- As before (migrations/0009, 0019), the owner is checked again per row, and only bitmap scans
-- of the text indexes are allowed; each kind now takes its candidates year by year. The
-- statements run once per year and kind: planned once for all values (a plan made for each
-- call's values cost more than the lookup itself: 2.8 against 2.2 ms for "budget" at scale 10,
-- 3.1 against 1.2 ms for a word found nowhere).
create or replace function search_candidates(owner uuid, query tsquery, per_kind bigint)
returns table (kind text, id uuid, meeting_id uuid, source uuid, rank double precision)
language plpgsql stable
set enable_seqscan = off
set enable_indexscan = off
set plan_cache_mode = force_generic_plan
as $$
declare
    periods record;
    year int;
    q tsquery;
    meetings_left bigint := per_kind;
    notes_left bigint := per_kind;
    items_left bigint := per_kind;
    got bigint;
begin
    if period_tsquery(query, owner, 0) is not null then
        select * into periods from search_periods(owner);
        year := periods.newest;
        while year >= periods.oldest and (meetings_left > 0 or notes_left > 0 or items_left > 0) loop
            q := period_tsquery(query, owner, year);
            if meetings_left > 0 then
                return query
                select 'meeting'::text, m.id, m.id, m.id,
                       (ts_rank(m.search, query) * 1.2)::double precision
                from meetings m
                where period_tsvector(m.search, m.user_id, search_period(m.starts_at)) @@ q
                  and m.search @@ query and (m.user_id = owner) is true and m.status <> 'cancelled'
                  and m.is_meeting is true and m.same_as is null
                limit meetings_left;
                get diagnostics got = row_count;
                meetings_left := meetings_left - got;
            end if;
            if notes_left > 0 then
                return query
                select 'note'::text, n.id, n.meeting_id, n.id,
                       (ts_rank(n.search, query) * 1.1)::double precision
                from notes n
                where period_tsvector(n.search, n.user_id, search_period(n.updated_at)) @@ q
                  and n.search @@ query and (n.user_id = owner) is true
                limit notes_left;
                get diagnostics got = row_count;
                notes_left := notes_left - got;
            end if;
            if items_left > 0 then
                return query
                select i.kind, i.note_id, i.meeting_id, i.id, ts_rank(i.search, query)::double precision
                from items i
                where period_tsvector(i.search, i.user_id, search_period(i.created_at)) @@ q
                  and i.search @@ query and (i.user_id = owner) is true and i.removed is not true
                limit items_left;
                get diagnostics got = row_count;
                items_left := items_left - got;
            end if;
            year := year - 1;
        end loop;
    end if;
    return query
    select 'person'::text, p.id, null::uuid, p.id, (ts_rank(p.search, query) * 1.3)::double precision
    from people p
    where owned_tsvector(p.search, p.user_id) @@ owned_tsquery(query, owner)
      and (p.user_id = owner) is true
    limit per_kind;
end $$;

-- Switching the search language rebuilds the indexes, now with these expressions.
create or replace function search_use_language(lang regconfig) returns boolean language plpgsql as $$
declare
    l text := quote_literal(lang::text);
begin
    -- Instances starting together with a new language re-index once, one after the other.
    perform 1 from search_settings for update;
    if lang = search_language() then
        return false;
    end if;
    alter table meetings drop column search;
    execute format('alter table meetings add column search tsvector generated always as '
        '(to_tsvector(%s::regconfig, title || '' '' || description || '' '' || location)) stored', l);
    alter table notes drop column search;
    execute format('alter table notes add column search tsvector generated always as '
        '(to_tsvector(%s::regconfig, context || '' '' || title || '' '' || body)) stored', l);
    alter table items drop column search;
    execute format('alter table items add column search tsvector generated always as '
        '(to_tsvector(%s::regconfig, text)) stored', l);
    alter table people drop column search;
    execute format('alter table people add column search tsvector generated always as '
        '(to_tsvector(%s::regconfig, coalesce(name, '''') || '' '' || email)) stored', l);
    create index meetings_search_idx on meetings
        using gin (period_tsvector(search, user_id, search_period(starts_at)))
        with (gin_pending_list_limit = 256);
    create index notes_search_idx on notes
        using gin (period_tsvector(search, user_id, search_period(updated_at)))
        with (gin_pending_list_limit = 256);
    create index items_search_idx on items
        using gin (period_tsvector(search, user_id, search_period(created_at)))
        with (gin_pending_list_limit = 256);
    create index people_search_idx on people using gin (owned_tsvector(search, user_id))
        with (gin_pending_list_limit = 256);
    update search_settings set language = lang;
    return true;
end $$;

-- Notes that mention a person by address (migrations/0022) found them through the owner's
-- lexeme in the notes' text index, which is now keyed by year: they are taken year by year
-- too, the most recent first, up to `text_limit` (null: all).
create or replace function notes_mentioning(owner uuid, person uuid, assigned_limit bigint,
                                            text_limit bigint)
returns setof uuid language plpgsql stable
set enable_seqscan = off
set plan_cache_mode = force_generic_plan
as $$
declare
    address text;
    mention tsquery;
    periods record;
    year int;
    wanted bigint := coalesce(text_limit, 9223372036854775807);
    got bigint;
begin
    return query
    select i.note_id from items i
    where i.user_id = owner and i.assignee_id = person and not i.removed
    order by i.created_at desc limit assigned_limit;
    select p.email into address from people p where p.user_id = owner and p.id = person;
    mention := plainto_tsquery('simple', coalesce(address, ''));
    if period_tsquery(mention, owner, 0) is null then
        return;
    end if;
    select * into periods from search_periods(owner);
    year := periods.newest;
    while year >= periods.oldest and wanted > 0 loop
        return query
        select n.id from notes n
        where period_tsvector(n.search, n.user_id, search_period(n.updated_at))
              @@ period_tsquery(mention, owner, year)
          and (n.user_id = owner) is true
          and position(lower('@' || address) in lower(n.body)) > 0
        limit wanted;
        get diagnostics got = row_count;
        wanted := wanted - got;
        year := year - 1;
    end loop;
end $$;
