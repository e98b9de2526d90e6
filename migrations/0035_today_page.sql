-- Today's statement, planned once per connection, as the meeting page's is (migrations/0031).
--
-- PostgreSQL kept planning the prepared statement for each call's values: at bench scale 10
-- that took 1.1–2.6 ms a view (EXPLAIN ANALYZE of the prepared statement, 2nd to 8th
-- execution), more than running it. The plan made for any values is the same plan (every
-- condition is a range of an index led by the owner; no filter is optional), and runs as fast.
-- The statement moves here unchanged; the page still sends one statement.
create function today_page(owner uuid, window_start timestamptz, window_end timestamptz,
                           due_by date, as_of timestamptz, carried_from_series int,
                           carried_per_person int, wrap_up_counted bigint,
                           follow_up_shown bigint, follow_up_cap bigint)
returns table (agenda json, follow_up json, prep json, wrap_up json, follow_up_counted bigint)
language plpgsql stable
set plan_cache_mode = force_generic_plan
as $$
#variable_conflict use_column
begin
    return query
    select
        coalesce((select json_agg(a) from (
            select * from meeting_rows m
            where m.user_id = owner and m.status <> 'cancelled' and m.same_as is null
              and m.id in (
                  -- Began at most a day before the window: the start-time index.
                  select e.id from meetings e
                  where e.user_id = owner and e.starts_at >= window_start - interval '24 hours'
                    and e.starts_at < window_end and e.ends_at > window_start
                  union all
                  -- Longer than a day, began before that, still running: their own index
                  -- (migrations/0025).
                  select e.id from meetings e
                  where e.user_id = owner and e.ends_at - e.starts_at > interval '24 hours'
                    and e.ends_at > window_start and e.starts_at < window_start - interval '24 hours')
            order by m.all_day desc, m.starts_at limit 500) a), '[]') as agenda,
        coalesce((select json_agg(f) from (
            select * from item_rows i
            where i.user_id = owner and i.kind = 'action' and not i.done and not i.removed
              and i.due <= due_by
            order by i.due, i.line limit follow_up_shown) f), '[]') as follow_up,
        -- The next meeting (or the one under way) with its ranked agenda.
        (select json_build_object('id', n.id, 'title', n.title, 'starts_at', n.starts_at,
                'people', n.people, 'items', coalesce((select json_agg(i) from (
                    select i.* from meeting_agenda(owner, n.id, carried_from_series, carried_per_person) r
                    join item_rows i on i.id = r.id
                    where i.user_id = owner and not i.removed and i.meeting_at < n.starts_at
                      and i.kind in ('action', 'question') and not i.done
                    order by r.rank, i.due nulls last, i.meeting_at desc, i.line
                    limit 30) i), '[]'))
         from (select * from meeting_rows n
               where n.user_id = owner and n.is_meeting and n.same_as is null and not n.all_day and n.status <> 'cancelled'
                 -- Under way or next: a meeting, so shorter than a day.
                 and n.starts_at >= as_of - interval '24 hours'
                 and n.starts_at < window_end and n.ends_at > as_of
               order by n.starts_at, n.id limit 1) n) as prep,
        -- The last week's meetings with other people that still lack notes or a recap.
        coalesce((select json_agg(w) from (
            select m.id, m.title, m.starts_at,
                   coalesce(n.body <> '', false) as has_notes,
                   m.recap_sent_at is not null as recap_sent
            from meetings m
            left join notes n on n.user_id = owner and n.meeting_id = m.id
            -- Began before now, too: the index range then ends at now, not at the last
            -- meeting of the calendar months ahead (every one read backwards before these).
            where m.user_id = owner and m.starts_at >= as_of - interval '7 days'
              and m.starts_at < as_of and m.ends_at <= as_of and m.is_meeting and m.same_as is null and not m.all_day and m.status <> 'cancelled'
              and (n.id is null or n.body = '' or m.recap_sent_at is null)
              and m.attendee_names <> ''
            order by m.starts_at desc, m.id limit wrap_up_counted) w), '[]') as wrap_up,
        (select count(*) from (
            select 1 from items i
            where i.user_id = owner and i.kind = 'action' and not i.done and not i.removed
              and i.due <= due_by
            limit follow_up_cap) c) as follow_up_counted;
end $$;
