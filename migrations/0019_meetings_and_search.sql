-- Only meetings are meetings, one meeting per invitation, and search people expect (issue 13,
-- parts 4 and 6).

-- 1. One meeting per invitation. The same invitation on two of the user's calendars (the same
--    iCalendar UID and, for an instance of a series, the same original start) stays one row per
--    provider event, so sync keys and sweeps are unchanged; every copy but one points at the
--    canonical copy. Lists show canonical rows only, notes live on the canonical row, and a
--    copy's page redirects to it. Copies on the same calendar are never merged: the UID of a
--    series without original starts would otherwise fold distinct occurrences together.
alter table meetings add column same_as uuid references meetings (id) on delete set null;
-- The copies of a meeting (its page lists their calendars), and the foreign key's own lookups.
create index meetings_same_as_idx on meetings (same_as) where same_as is not null;
-- The members of an invitation's group; the import's index (migrations/0013) is its prefix.
create index meetings_ical_group_idx on meetings (user_id, ical_uid, original_start)
    where ical_uid is not null;
drop index meetings_ical_uid_idx;
alter index meetings_ical_group_idx rename to meetings_ical_uid_idx;

-- A meeting's note moved onto another meeting of its group: moved whole when that one has no
-- note, else appended after a marker naming the calendar it came from, with its items (their
-- lines shifted by what precedes them), so that nothing written is lost and items keep pointing
-- at a live meeting.
create function meetings_merge_note(owner uuid, from_meeting uuid, to_meeting uuid)
returns void language plpgsql as $$
declare
    src notes;
    dst notes;
    calendar_name text;
    head text;
begin
    select * into src from notes where user_id = owner and meeting_id = from_meeting for update;
    if not found then
        return;
    end if;
    select * into dst from notes where user_id = owner and meeting_id = to_meeting for update;
    if not found then
        update notes set meeting_id = to_meeting where id = src.id;
        update items set meeting_id = to_meeting where user_id = owner and note_id = src.id;
        return;
    end if;
    select c.name into calendar_name
    from meetings m join calendars c on c.id = m.calendar_id where m.id = from_meeting;
    head := case
        when btrim(src.body, E' \t\r\n') = '' then dst.body
        when btrim(dst.body, E' \t\r\n') = '' then ''
        else dst.body || E'\n\n--- merged from ' || coalesce(calendar_name, 'another calendar')
             || E' ---\n\n'
    end;
    update items set note_id = dst.id, meeting_id = to_meeting,
                     line = line + length(head) - length(replace(head, E'\n', ''))
    where user_id = owner and note_id = src.id;
    if btrim(src.body, E' \t\r\n') <> '' then
        update notes set body = head || src.body, version = version + 1, updated_at = now()
        where id = dst.id;
    end if;
    delete from notes where id = src.id;
end $$;

-- Recomputes the groups of the given UIDs: the canonical copy is a live one (a copy cancelled
-- on one calendar leaves the meeting on the other), on the primary calendar if any, else the
-- current canonical (stable), else the first that arrived. A copy that stops being canonical
-- hands its note over. Called by sync after each batch, for the UIDs it wrote or cancelled.
create function meetings_regroup(owner uuid, uids text[]) returns void language plpgsql as $$
declare
    r record;
begin
    for r in
        with members as (
            select m.id, m.calendar_id, m.same_as,
                   first_value(m.id) over w as canonical,
                   first_value(m.calendar_id) over w as canonical_calendar
            from meetings m
            cross join lateral (select c.is_primary from calendars c
                                where c.id = m.calendar_id) c
            where m.user_id = owner and m.ical_uid = any(uids)
            window w as (partition by m.ical_uid, m.original_start
                         order by m.status = 'cancelled', not c.is_primary,
                                  m.same_as is not null, m.created_at, m.id))
        select id, case when id = canonical or calendar_id = canonical_calendar then null
                        else canonical end as target
        from members
        where same_as is distinct from case when id = canonical or calendar_id = canonical_calendar
                                            then null else canonical end
        -- Canonical rows first: a row becomes canonical before others point at it.
        order by 2 nulls first
    loop
        update meetings set same_as = r.target where id = r.id;
        if r.target is not null then
            perform meetings_merge_note(owner, r.id, r.target);
        end if;
    end loop;
end $$;

-- 2. Only meetings count for people: an attendee row counts towards "meetings together" when
--    its meeting is a meeting (not focus time, out of office, a working location) and the
--    canonical copy of its invitation. The flag is on the attendee row so that the counters'
--    triggers, which see only attendee rows (even when their meetings are being deleted), know
--    what each row added.
alter table attendees add column counted boolean;
update attendees a set counted = m.is_meeting from meetings m where m.id = a.meeting_id;
alter table attendees alter column counted set not null;

-- Writers may supply the start and the flag (sync joins them in); otherwise they are looked up.
create or replace function attendees_take_meeting_start() returns trigger language plpgsql as $$
begin
    if new.starts_at is null or new.counted is null or tg_op = 'UPDATE' then
        select m.starts_at, m.is_meeting and m.same_as is null into new.starts_at, new.counted
        from meetings m where m.id = new.meeting_id;
    end if;
    return new;
end $$;

create or replace function attendees_count_in() returns trigger language plpgsql as $$
begin
    update person_stats s set meeting_count = s.meeting_count + d.n
    from (select person_id, count(*) as n from new_rows where counted group by person_id) d
    where s.person_id = d.person_id;
    return null;
end $$;

create or replace function attendees_count_out() returns trigger language plpgsql as $$
begin
    update person_stats s set meeting_count = greatest(s.meeting_count - d.n, 0)
    from (select person_id, count(*) as n from old_rows where counted group by person_id) d
    where s.person_id = d.person_id;
    return null;
end $$;

-- A row whose meeting starts or stops counting. Row-level with a WHEN test: the attendee
-- updates of sync (responses, moved meetings) never run it.
create function attendees_count_flag() returns trigger language plpgsql as $$
begin
    update person_stats set meeting_count = greatest(meeting_count + case when new.counted then 1 else -1 end, 0)
    where person_id = new.person_id;
    return null;
end $$;
create trigger attendees_counted_flag
    after update of counted on attendees
    for each row when (old.counted is distinct from new.counted)
    execute function attendees_count_flag();

create function meetings_counting_changed() returns trigger language plpgsql as $$
begin
    update attendees set counted = new.is_meeting and new.same_as is null
    where user_id = new.user_id and meeting_id = new.id;
    return null;
end $$;
create trigger meetings_counting_changed
    after update of is_meeting, same_as on meetings
    for each row
    when ((old.is_meeting and old.same_as is null) is distinct from (new.is_meeting and new.same_as is null))
    execute function meetings_counting_changed();

-- Lists see which rows are copies.
create or replace view meeting_rows as
select m.id, m.user_id, m.title, m.starts_at, m.ends_at, m.all_day, m.start_date, m.join_url,
       m.status, m.is_meeting, m.series_id,
       (select s.title from series s where s.id = m.series_id) as series_title,
       m.attendee_names as people, m.same_as
from meetings m;

-- 3. Search: a meeting's note carries its meeting's title (`notes.context`), so title words and
--    note words found together in one query find the meeting.
alter table notes add column context text not null default '';
update notes n set context = m.title from meetings m where m.id = n.meeting_id;

create function notes_take_context() returns trigger language plpgsql as $$
begin
    new.context := coalesce((select m.title from meetings m where m.id = new.meeting_id), '');
    return new;
end $$;
create trigger notes_context
    before insert or update of meeting_id on notes
    for each row execute function notes_take_context();

create function meetings_retitle_notes() returns trigger language plpgsql as $$
begin
    update notes set context = new.title where user_id = new.user_id and meeting_id = new.id;
    return null;
end $$;
create trigger meetings_retitled
    after update of title on meetings
    for each row when (old.title is distinct from new.title)
    execute function meetings_retitle_notes();

-- The text search configuration (language) every text vector is built with: one for the whole
-- database, set at start from DOCKET_SEARCH_LANGUAGE (src/search.rs).
create table search_settings (
    singleton boolean primary key default true check (singleton),
    language  regconfig not null
);
insert into search_settings (language) values ('simple');

create function search_language() returns regconfig language sql stable
    as $$ select language from search_settings $$;

-- Builds every text vector with `lang` when it is not already the one in use: the generated
-- columns are dropped and added again (each table is rewritten under an exclusive lock, once)
-- with their indexes. Returns whether it re-indexed.
create function search_use_language(lang regconfig) returns boolean language plpgsql as $$
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
    create index meetings_search_idx on meetings using gin (owned_tsvector(search, user_id))
        with (gin_pending_list_limit = 256);
    create index notes_search_idx on notes using gin (owned_tsvector(search, user_id))
        with (gin_pending_list_limit = 256);
    create index items_search_idx on items using gin (owned_tsvector(search, user_id))
        with (gin_pending_list_limit = 256);
    create index people_search_idx on people using gin (owned_tsvector(search, user_id))
        with (gin_pending_list_limit = 256);
    update search_settings set language = lang;
    return true;
end $$;

-- English by default (stemming: "migrations" finds "migration").
select search_use_language('english');

-- What the user typed as a query: web-search syntax for `words`, and `prefix`, the word being
-- typed, matched as a prefix (`roll` finds "rollback"). The prefix keeps letters and digits
-- only, so no query syntax can come in through it.
create function search_query(words text, prefix text) returns tsquery language sql stable as $$
    select case when p = '' then websearch_to_tsquery(l, words)
                else websearch_to_tsquery(l, words) && to_tsquery(l, quote_literal(p) || ':*') end
    from (select search_language() as l,
                 regexp_replace(coalesce(prefix, ''), '[^[:alnum:]]', '', 'g') as p) s
$$;

-- Text as a snippet shows it: Markdown and note-grammar syntax and HTML tags taken out.
create function search_plain(body text) returns text language sql immutable parallel safe as $$
    select btrim(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
               regexp_replace(body, '<[^>]*>', ' ', 'g'),
               -- line starts: quotes, headings, bullets, check boxes, grammar markers, fences
               '^[ \t]*(>[ \t]*)*(#{1,6}[ \t]+)?([-*+][ \t]+|[0-9]+[.)][ \t]+)?(\[[ xX]\][ \t]*)?(!!|!d|!a|\?\?)?[ \t]*(```|~~~)?',
               '', 'gn'),
               -- links and images: their text
               '!?\[([^]]*)\]\([^)]*\)', '\1', 'g'),
               -- emphasis and code marks
               '(\*\*|__|~~|[*`])', '', 'g'),
               '[ \t]*\n[ \t\n]*', ' · ', 'g'),
           '[ \t]+', ' ', 'g'), ' ·')
$$;

-- Search candidates (migrations/0009), with only meetings as meetings: neither other calendar
-- entries nor the copies of an invitation.
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
       and m.is_meeting is true and m.same_as is null
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

-- 4. Existing duplicates merged (notes included), then the counters counted again from the
--    attendee rows, as they now count.
select meetings_regroup(user_id, array_agg(distinct ical_uid))
from meetings where ical_uid is not null
group by user_id;

update person_stats s set meeting_count = coalesce(
    (select count(*) from attendees a
     where a.user_id = s.user_id and a.person_id = s.person_id and a.counted), 0);
