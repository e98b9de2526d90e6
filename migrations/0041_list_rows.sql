-- A person's organization in lists: joined, instead of a subquery per row.
--
-- The subquery of migrations/0015 is planned on its own, for one row, where reading a small
-- organizations table whole looks cheaper than its key: a user with 150 organizations had the
-- table read through once for every person the People page shows (51 scans of 150 rows, a third
-- of the directory statement). Joined, the planner looks each organization up by key, once per
-- distinct organization (Memoize). Same columns, same rows: organizations.id is unique.
create or replace view person_rows as
select p.id, p.user_id, coalesce(p.name, p.email) as name, p.email, p.organization_id,
       o.name as organization,
       s.meeting_count as meetings, s.open_item_count as open_items,
       (select a.starts_at from attendees a
        where a.user_id = p.user_id and a.person_id = p.id and a.starts_at < now()
        order by a.starts_at desc limit 1) as last_met,
       s.sort_name, p.is_me
from people p
join person_stats s on s.person_id = p.id and s.user_id = p.user_id
left join organizations o on o.id = p.organization_id;

-- A decision as the decision log shows it: what the log's first page (one plan per connection)
-- and its filtered and later pages (src/decisions.rs) both read.
create view decision_rows as
select i.id, i.user_id, i.created_at as recorded_at, i.text, i.meeting_id, i.note_id,
       m.title as meeting_title, coalesce(m.starts_at, i.created_at) as decided_at,
       coalesce(m.attendee_names, '') as people, m.series_id
from items i left join meetings m on m.id = i.meeting_id
where i.kind = 'decision' and not i.removed;
