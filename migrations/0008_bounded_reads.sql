-- Indexes and one denormalised column so that every page reads rows in proportion to what it
-- shows, not to the user's history (tests/integration/data_layer.rs proves it on a heavy user).
-- Every per-user index leads with user_id: the key the tables would be distributed by.

-- A person's meetings in time order, straight from the attendee rows: the meeting's start is
-- copied onto them (kept in step by the triggers below), so "meetings together", "last met" and
-- a person's meeting list are index range scans instead of a join over their whole history.
alter table attendees add column starts_at timestamptz;
update attendees a set starts_at = m.starts_at from meetings m where m.id = a.meeting_id;
alter table attendees alter column starts_at set not null;
create index attendees_person_time_idx on attendees (user_id, person_id, starts_at);
drop index attendees_person_idx;

-- Writers may supply the start themselves (sync knows it); otherwise it is looked up.
create function attendees_take_meeting_start() returns trigger language plpgsql as $$
begin
    if new.starts_at is null or tg_op = 'UPDATE' then
        select m.starts_at into new.starts_at from meetings m where m.id = new.meeting_id;
    end if;
    return new;
end $$;
create trigger attendees_meeting_start
    before insert or update of meeting_id on attendees
    for each row execute function attendees_take_meeting_start();

create function meetings_move_attendees() returns trigger language plpgsql as $$
begin
    update attendees set starts_at = new.starts_at where meeting_id = new.id;
    return null;
end $$;
create trigger meetings_moved
    after update of starts_at on meetings
    for each row when (old.starts_at is distinct from new.starts_at)
    execute function meetings_move_attendees();

-- Open action items by assignee and due date: "they owe you", "what you owe", follow-up.
create index items_open_actions_idx on items (user_id, assignee_id, due)
    where kind = 'action' and not done and not removed;
-- Items assigned to a person, newest first (the notes that mention them).
drop index items_assignee_idx;
create index items_assignee_idx on items (user_id, assignee_id, created_at);
-- The user's own person row.
create index people_me_idx on people (user_id) where is_me;
-- Items of a meeting in note order (the meeting page, carried-forward items).
drop index items_meeting_idx;
create index items_meeting_idx on items (user_id, meeting_id, line) where not removed;
-- The decision log, newest first.
create index items_recorded_idx on items (user_id, kind, created_at, id) where not removed;
-- How many meetings the user had with each person, kept by the database itself: the people
-- directory is ordered by it, and a count over a person's whole history per page view would
-- grow with that history. Statement-level triggers, so a multi-row write costs one update per
-- person, whichever code path wrote the attendees.
alter table people add column meeting_count integer not null default 0;
update people p set meeting_count = c.n
from (select person_id, count(*) as n from attendees group by person_id) c
where c.person_id = p.id;

create function attendees_count_in() returns trigger language plpgsql as $$
begin
    update people p set meeting_count = p.meeting_count + d.n
    from (select person_id, count(*) as n from new_rows group by person_id) d
    where p.id = d.person_id;
    return null;
end $$;
create trigger attendees_counted_in after insert on attendees
    referencing new table as new_rows
    for each statement execute function attendees_count_in();

create function attendees_count_out() returns trigger language plpgsql as $$
begin
    update people p set meeting_count = greatest(p.meeting_count - d.n, 0)
    from (select person_id, count(*) as n from old_rows group by person_id) d
    where p.id = d.person_id;
    return null;
end $$;
create trigger attendees_counted_out after delete on attendees
    referencing old table as old_rows
    for each statement execute function attendees_count_out();

-- The people directory: most met first, then by name (keyset), and substring search by name or
-- address through a trigram index.
create extension if not exists pg_trgm;
create index people_directory_idx on people (user_id, meeting_count desc, (lower(coalesce(name, email))), id);
create index people_trigram_idx on people using gin ((lower(coalesce(name, '') || ' ' || email)) gin_trgm_ops);
-- Organizations by name.
create index organizations_user_name_idx on organizations (user_id, lower(name), id);

-- The two shapes every page lists, defined once. Both are plain views: PostgreSQL inlines them,
-- so a caller's conditions, order and limit still reach the indexes underneath.

-- An item with its assignee and meeting, as lists show it.
create view item_rows as
select i.id, i.user_id, i.kind, i.text, i.done, i.answer, i.due, i.hints, i.assignee_id,
       coalesce(p.name, p.email) as assignee_name, p.is_me as assignee_is_me,
       i.meeting_id, m.title as meeting_title, m.starts_at as meeting_at, i.note_id, i.line,
       i.removed, p.organization_id as assignee_organization_id
from items i
left join people p on p.id = i.assignee_id
left join meetings m on m.id = i.meeting_id;

-- A meeting as agendas and lists show it: its series and the first names of who attends (the
-- user excluded), with their number.
create view meeting_rows as
select m.id, m.user_id, m.title, m.starts_at, m.ends_at, m.all_day, m.start_date, m.join_url,
       m.status, m.is_meeting, m.series_id, s.title as series_title,
       coalesce(who.people, '') as people, coalesce(who.people_count, 0) as people_count
from meetings m
left join series s on s.id = m.series_id
left join lateral (
    select string_agg(coalesce(p.name, p.email), ', '
                      order by a.is_organizer desc, coalesce(p.name, p.email)) as people,
           count(*) as people_count
    from attendees a join people p on p.id = a.person_id
    where a.meeting_id = m.id and not p.is_me) who on true;

-- Full-text search within one user's rows: the text indexes lead with user_id too (btree_gin),
-- so a word common across tenants costs only its matches in this user's history.
create extension if not exists btree_gin;
drop index meetings_search_idx;
create index meetings_search_idx on meetings using gin (user_id, search);
drop index notes_search_idx;
create index notes_search_idx on notes using gin (user_id, search);
drop index items_search_idx;
create index items_search_idx on items using gin (user_id, search);
drop index people_search_idx;
create index people_search_idx on people using gin (user_id, search);
