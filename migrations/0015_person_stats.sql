-- The per-person counters (meetings together, open items owed) move off `people` into a narrow
-- table of their own. Every attendee or item write updates the counters of the people it
-- touches, and a counter is part of the directory's keyset index, so no update of it can be HOT:
-- on `people` each one wrote a new version into all seven of its indexes, two of them GIN (text
-- search, trigrams). A first sync rewrote every person once per batch of 1,000 events that way:
-- a third of its time (auto_explain, 10,000 events: 2.7 of 8.2 s). Here an update writes a
-- small row into two B-trees.
create table person_stats (
    person_id       uuid primary key references people (id) on delete cascade,
    user_id         uuid not null references users (id) on delete cascade,
    meeting_count   integer not null default 0,
    open_item_count integer not null default 0,
    -- The directory's sort name, lower(coalesce(name, email)), kept here so that its keyset
    -- (most met first, then by name) is one index.
    sort_name       text not null
);
insert into person_stats (person_id, user_id, meeting_count, open_item_count, sort_name)
select id, user_id, meeting_count, open_item_count, lower(coalesce(name, email)) from people;
create index person_stats_directory_idx
    on person_stats (user_id, meeting_count desc, sort_name, person_id);

-- Every person has their row, whichever path made the person (sync, demo data, seeds).
create function people_stats_in() returns trigger language plpgsql as $$
begin
    insert into person_stats (person_id, user_id, sort_name)
    select id, user_id, lower(coalesce(name, email)) from new_rows
    on conflict (person_id) do nothing;
    return null;
end $$;
create trigger people_stats_in after insert on people
    referencing new table as new_rows
    for each statement execute function people_stats_in();

create function people_sort_name_changed() returns trigger language plpgsql as $$
begin
    update person_stats set sort_name = lower(coalesce(new.name, new.email))
    where person_id = new.id;
    return null;
end $$;
create trigger people_sort_name_changed
    after update of name, email on people
    for each row
    when (lower(coalesce(old.name, old.email)) is distinct from lower(coalesce(new.name, new.email)))
    execute function people_sort_name_changed();

-- The counters' triggers (migrations/0008), now writing person_stats.
create or replace function attendees_count_in() returns trigger language plpgsql as $$
begin
    update person_stats s set meeting_count = s.meeting_count + d.n
    from (select person_id, count(*) as n from new_rows group by person_id) d
    where s.person_id = d.person_id;
    return null;
end $$;

create or replace function attendees_count_out() returns trigger language plpgsql as $$
begin
    update person_stats s set meeting_count = greatest(s.meeting_count - d.n, 0)
    from (select person_id, count(*) as n from old_rows group by person_id) d
    where s.person_id = d.person_id;
    return null;
end $$;

create or replace function items_count_open_in() returns trigger language plpgsql as $$
begin
    update person_stats s set open_item_count = s.open_item_count + d.n
    from (select assignee_id, count(*) as n from new_rows
          where kind = 'action' and not done and not removed and assignee_id is not null
          group by assignee_id) d
    where s.person_id = d.assignee_id;
    return null;
end $$;

create or replace function items_count_open_out() returns trigger language plpgsql as $$
begin
    update person_stats s set open_item_count = greatest(s.open_item_count - d.n, 0)
    from (select assignee_id, count(*) as n from old_rows
          where kind = 'action' and not done and not removed and assignee_id is not null
          group by assignee_id) d
    where s.person_id = d.assignee_id;
    return null;
end $$;

create or replace function items_count_open_changed() returns trigger language plpgsql as $$
begin
    update person_stats s set open_item_count = greatest(s.open_item_count + d.n, 0)
    from (select assignee_id, sum(delta) as n from (
              select assignee_id, 1 as delta from new_rows
              where kind = 'action' and not done and not removed and assignee_id is not null
              union all
              select assignee_id, -1 from old_rows
              where kind = 'action' and not done and not removed and assignee_id is not null) c
          group by assignee_id having sum(delta) <> 0) d
    where s.person_id = d.assignee_id;
    return null;
end $$;

-- A person as lists show them, the counts from person_stats (joined on the owner too, so a
-- filter on the user reaches the directory index).
drop view person_rows;
drop index people_directory_idx;
alter table people drop column meeting_count, drop column open_item_count;
create view person_rows as
select p.id, p.user_id, coalesce(p.name, p.email) as name, p.email, p.organization_id,
       (select o.name from organizations o where o.id = p.organization_id) as organization,
       s.meeting_count as meetings, s.open_item_count as open_items,
       (select a.starts_at from attendees a
        where a.user_id = p.user_id and a.person_id = p.id and a.starts_at < now()
        order by a.starts_at desc limit 1) as last_met,
       s.sort_name, p.is_me
from people p
join person_stats s on s.person_id = p.id and s.user_id = p.user_id;

-- Who attends, as lists show it (migrations/0009), with the person looked up by key for each
-- attendee row. The join was left to the planner, which after an analyze of a table still
-- growing in a first sync estimated 200 attendees a meeting and hashed the user's whole people
-- table for every meeting refreshed (0.3 ms × 1,000 meetings a batch); `offset 0` keeps the
-- lookup per attendee row, whatever the statistics say.
create or replace function meetings_refresh_attendee_names(ids uuid[]) returns void language sql as $$
    update meetings m set attendee_names = n.names
    from (select mid, coalesce((select string_agg(coalesce(p.name, p.email), ', '
                                               order by a.is_organizer desc, coalesce(p.name, p.email))
                                from attendees a
                                cross join lateral (select p.name, p.email, p.is_me from people p
                                                    where p.id = a.person_id offset 0) p
                                where a.meeting_id = mid and not p.is_me), '') as names
          from unnest(ids) as mid) n
    -- `= any(ids)` lets the meetings be found by key; joined on `n` alone, the plan hashed the
    -- whole meetings table on every call (a first sync's cost then grows with its history).
    where m.id = any(ids) and m.id = n.mid and m.attendee_names is distinct from n.names
$$;
