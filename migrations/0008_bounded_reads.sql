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

-- How many open action items each person owes, kept the same way for every write to items.
alter table people add column open_item_count integer not null default 0;
update people p set open_item_count = c.n
from (select assignee_id, count(*) as n from items
      where kind = 'action' and not done and not removed and assignee_id is not null
      group by assignee_id) c
where c.assignee_id = p.id;

create function items_count_open_in() returns trigger language plpgsql as $$
begin
    update people p set open_item_count = p.open_item_count + d.n
    from (select assignee_id, count(*) as n from new_rows
          where kind = 'action' and not done and not removed and assignee_id is not null
          group by assignee_id) d
    where p.id = d.assignee_id;
    return null;
end $$;
create trigger items_counted_in after insert on items
    referencing new table as new_rows
    for each statement execute function items_count_open_in();

create function items_count_open_out() returns trigger language plpgsql as $$
begin
    update people p set open_item_count = greatest(p.open_item_count - d.n, 0)
    from (select assignee_id, count(*) as n from old_rows
          where kind = 'action' and not done and not removed and assignee_id is not null
          group by assignee_id) d
    where p.id = d.assignee_id;
    return null;
end $$;
create trigger items_counted_out after delete on items
    referencing old table as old_rows
    for each statement execute function items_count_open_out();

create function items_count_open_changed() returns trigger language plpgsql as $$
begin
    update people p set open_item_count = greatest(p.open_item_count + d.n, 0)
    from (select assignee_id, sum(delta) as n from (
              select assignee_id, 1 as delta from new_rows
              where kind = 'action' and not done and not removed and assignee_id is not null
              union all
              select assignee_id, -1 from old_rows
              where kind = 'action' and not done and not removed and assignee_id is not null) c
          group by assignee_id having sum(delta) <> 0) d
    where p.id = d.assignee_id;
    return null;
end $$;
create trigger items_counted_changed after update on items
    referencing old table as old_rows new table as new_rows
    for each statement execute function items_count_open_changed();

-- The people directory: most met first, then by name (keyset), and substring search by name or
-- address through a trigram index.
create extension if not exists pg_trgm;
create index people_directory_idx on people (user_id, meeting_count desc, (lower(coalesce(name, email))), id);
create index people_trigram_idx on people using gin ((lower(coalesce(name, '') || ' ' || email)) gin_trgm_ops);
-- How many people each organization has, kept the same way.
alter table organizations add column people_count integer not null default 0;
update organizations o set people_count = c.n
from (select organization_id, count(*) as n from people
      where organization_id is not null group by organization_id) c
where c.organization_id = o.id;

create function people_count_members() returns trigger language plpgsql as $$
begin
    update organizations o set people_count = greatest(o.people_count + d.n, 0)
    from (select organization_id, sum(delta) as n from (
              select organization_id, 1 as delta from new_rows where organization_id is not null
              union all
              select organization_id, -1 from old_rows where organization_id is not null) c
          group by organization_id having sum(delta) <> 0) d
    where o.id = d.organization_id;
    return null;
end $$;
create function people_count_members_in() returns trigger language plpgsql as $$
begin
    update organizations o set people_count = o.people_count + d.n
    from (select organization_id, count(*) as n from new_rows
          where organization_id is not null group by organization_id) d
    where o.id = d.organization_id;
    return null;
end $$;
create function people_count_members_out() returns trigger language plpgsql as $$
begin
    update organizations o set people_count = greatest(o.people_count - d.n, 0)
    from (select organization_id, count(*) as n from old_rows
          where organization_id is not null group by organization_id) d
    where o.id = d.organization_id;
    return null;
end $$;
create trigger people_counted_in after insert on people
    referencing new table as new_rows
    for each statement execute function people_count_members_in();
create trigger people_counted_out after delete on people
    referencing old table as old_rows
    for each statement execute function people_count_members_out();
create trigger people_counted_changed after update on people
    referencing old table as old_rows new table as new_rows
    for each statement execute function people_count_members();

-- Organizations by name.
create index organizations_user_name_idx on organizations (user_id, lower(name), id);

-- The two shapes every page lists, defined once. Both are plain views: PostgreSQL inlines them,
-- so a caller's conditions, order and limit still reach the indexes underneath.

-- An item with its assignee and meeting, as lists show it: both looked up by primary key per
-- row shown (`limit 1` keeps each lookup a per-row probe instead of a join over the table).
create view item_rows as
select i.id, i.user_id, i.kind, i.text, i.done, i.answer, i.due, i.hints, i.assignee_id,
       coalesce(p.name, p.email) as assignee_name, p.is_me as assignee_is_me,
       i.meeting_id, m.title as meeting_title, m.starts_at as meeting_at, i.note_id, i.line,
       i.removed, i.created_at
from items i
left join lateral (select p.name, p.email, p.is_me from people p
                   where p.id = i.assignee_id limit 1) p on true
left join lateral (select m.title, m.starts_at from meetings m
                   where m.id = i.meeting_id limit 1) m on true;

-- A meeting as agendas and lists show it: its series and the names of who attends (the user
-- excluded). The names are a scalar subquery, evaluated per row shown through the attendee
-- primary key, never a join the planner could turn into a pass over every attendee.
create view meeting_rows as
select m.id, m.user_id, m.title, m.starts_at, m.ends_at, m.all_day, m.start_date, m.join_url,
       m.status, m.is_meeting, m.series_id,
       (select s.title from series s where s.id = m.series_id) as series_title,
       coalesce((select string_agg(coalesce(p.name, p.email), ', '
                                   order by a.is_organizer desc, coalesce(p.name, p.email))
                 from attendees a join people p on p.id = a.person_id
                 where a.meeting_id = m.id and not p.is_me), '') as people
from meetings m;

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

-- A person as lists show them: the counts are kept up to date by the triggers above; "last met"
-- is one probe of the attendee time index.
create view person_rows as
select p.id, p.user_id, coalesce(p.name, p.email) as name, p.email, p.organization_id,
       (select o.name from organizations o where o.id = p.organization_id) as organization,
       p.meeting_count as meetings, p.open_item_count as open_items,
       (select a.starts_at from attendees a
        where a.user_id = p.user_id and a.person_id = p.id and a.starts_at < now()
        order by a.starts_at desc limit 1) as last_met,
       lower(coalesce(p.name, p.email)) as sort_name, p.is_me
from people p;

-- Search candidates: at most `per_kind` matches of each kind, always found through the text
-- indexes, whose posting lists hold only rows with the words; the heap is read for at most
-- `per_kind` rows each. With a LIMIT and a common word the planner would otherwise walk the
-- user's rows in some B-tree order (or the whole table) until enough match: cheap for one
-- word, a read of the whole history for a rare one. A function's own SET applies to it alone.
create function search_candidates(owner uuid, query tsquery, per_kind bigint)
returns table (kind text, id uuid, meeting_id uuid, source uuid, rank double precision)
language sql stable
set enable_seqscan = off
set enable_indexscan = off
as $$
    (select 'meeting', m.id, m.id, m.id, ts_rank(m.search, query) * 1.2
     from meetings m
     where m.user_id = owner and m.search @@ query and m.status <> 'cancelled'
     limit per_kind)
    union all
    (select 'note', n.id, n.meeting_id, n.id, ts_rank(n.search, query) * 1.1
     from notes n where n.user_id = owner and n.search @@ query
     limit per_kind)
    union all
    (select i.kind, i.note_id, i.meeting_id, i.id, ts_rank(i.search, query)
     from items i where i.user_id = owner and not i.removed and i.search @@ query
     limit per_kind)
    union all
    (select 'person', p.id, null, p.id, ts_rank(p.search, query) * 1.3
     from people p where p.user_id = owner and p.search @@ query
     limit per_kind)
$$;
