-- The meetings list's statement (upcoming, a series shown once), planned once per connection, as
-- the meeting page's (0031), Today's (0035) and the person page's (0036) are.
--
-- PostgreSQL planned it for each call's values (about 0.7 ms at bench scale 1, 1.0 ms in the
-- server log of uncached views, as long as running it). The plan made for any values ran
-- faster in every case tried with EXPLAIN ANALYZE at scale 1 (planning + running: no filter
-- 1.4 vs 2.0 ms; a person 2.1 vs 2.7; an organization 2.6 vs 4.1; a period 1.2 vs 1.4), since
-- each filter is a condition on the one index range of the user's meetings by start time.
-- The keyset cursor is also written as a plain lower bound of that range, so a page far down
-- the list starts its range at the cursor in this plan too. Otherwise the statement is the
-- one it replaces.
create function meetings_page(owner uuid, as_of timestamptz, from_at timestamptz,
                              until_at timestamptz, person_filter uuid,
                              organization_filter uuid, after_at timestamptz, after_id uuid,
                              longest_event_days int, collapse_scan bigint, page_rows bigint,
                              series_cap bigint)
returns table (listed json, scan_end json, person_name text, organization_name text)
language plpgsql stable
set plan_cache_mode = force_generic_plan
as $$
#variable_conflict use_column
begin
    return query
    with matching as not materialized (
        select m.id, m.series_id, m.starts_at from meetings m
        where m.user_id = owner and m.status <> 'cancelled' and m.is_meeting and m.same_as is null
          and m.starts_at >= as_of - make_interval(days => longest_event_days) and m.ends_at >= as_of
          and (from_at is null or m.starts_at >= from_at)
          and (until_at is null or m.starts_at < until_at)
          and (person_filter is null or exists (select 1 from attendees a
                where a.user_id = owner and a.meeting_id = m.id and a.person_id = person_filter))
          and (organization_filter is null or exists (select 1 from attendees a join people p on p.id = a.person_id
                where a.user_id = owner and a.meeting_id = m.id and p.organization_id = organization_filter))
    ), shown as materialized (
        -- Read lazily in start order: the page stops looking once it has its rows.
        select c.* from (
            select * from matching
            -- The cursor is also a plain lower bound, so that the one plan starts its index range
            -- there (a row comparison with a parameter that may be null is only a filter).
            where (after_at is null or (starts_at, id) > (after_at, after_id))
              and starts_at >= coalesce(after_at, '-infinity')
            order by starts_at, id limit collapse_scan) c
        where c.series_id is null or not exists (
            select 1 from matching e
            where e.series_id = c.series_id and (e.starts_at, e.id) < (c.starts_at, c.id))
        order by c.starts_at, c.id limit page_rows
    )
    select
        coalesce((select json_agg(r) from (
            select m.*, case when s.series_id is not null then
                       (select count(*) from (select 1 from matching e where e.series_id = s.series_id
                                              limit series_cap) n) end as in_series
            from shown s join meeting_rows m on m.id = s.id
            order by m.starts_at, m.id) r), '[]') as listed,
        -- A page short of rows ended the list, or looked as far as it may: then the last meeting
        -- it looked at is where the next page starts.
        case when (select count(*) from shown) <= page_rows - 1 then (
            select json_build_array(starts_at, id) from matching
            where (after_at is null or (starts_at, id) > (after_at, after_id))
              and starts_at >= coalesce(after_at, '-infinity')
            order by starts_at, id offset collapse_scan - 1 limit 1) end as scan_end,
        (select coalesce(name, email) from people where user_id = owner and id = person_filter) as person_name,
        (select name from organizations where user_id = owner and id = organization_filter) as organization_name;
end $$;
