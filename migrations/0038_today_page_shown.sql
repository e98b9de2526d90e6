-- Today's statement builds only what the page shows.
--
-- The prep panel shows the next meeting's first 5 agenda items and "N more", the wrap-up list 5
-- meetings and "N more": the statement of 0035 returned up to 30 whole items and 50 meetings
-- as JSON for the page to count and drop (at bench scale 10, 21 of its 66 kB). Now the ranked
-- agenda and the wrap-up are read once each, as before, but only the rows shown are joined to
-- their views and built as JSON; the rest are counted.
drop function today_page(uuid, timestamptz, timestamptz, date, timestamptz, int, int, bigint,
                         bigint, bigint);

create function today_page(owner uuid, window_start timestamptz, window_end timestamptz,
                           due_by date, as_of timestamptz, carried_from_series int,
                           carried_per_person int, prep_shown int, prep_counted int,
                           wrap_up_shown bigint, wrap_up_counted bigint,
                           follow_up_shown bigint, follow_up_cap bigint)
returns table (agenda json, follow_up json, prep json, wrap_up json, wrap_up_total bigint,
               follow_up_counted bigint)
language plpgsql stable
set plan_cache_mode = force_generic_plan
as $$
#variable_conflict use_column
declare
    next_up record;
    ranked uuid[];
    prepared json;
    waiting json;
    waiting_total bigint;
begin
    -- The next meeting (or the one under way): a meeting, so shorter than a day.
    select n.id, n.title, n.starts_at, n.people into next_up
    from meeting_rows n
    where n.user_id = owner and n.is_meeting and n.same_as is null and not n.all_day
      and n.status <> 'cancelled'
      and n.starts_at >= as_of - interval '24 hours'
      and n.starts_at < window_end and n.ends_at > as_of
    order by n.starts_at, n.id limit 1;
    if next_up.id is not null then
        -- Its agenda, ranked as on the meeting page: ids only, up to what is counted.
        select array_agg(r.id order by r.rank, r.due nulls last, r.meeting_at desc, r.line)
        into ranked
        from (select i.id, r.rank, i.due, m.starts_at as meeting_at, i.line
              from meeting_agenda(owner, next_up.id, carried_from_series, carried_per_person) r
              join items i on i.id = r.id
              join meetings m on m.id = i.meeting_id
              where i.user_id = owner and not i.removed and m.starts_at < next_up.starts_at
                and i.kind in ('action', 'question') and not i.done
              order by r.rank, i.due nulls last, m.starts_at desc, i.line
              limit prep_counted) r;
        prepared := json_build_object(
            'id', next_up.id, 'title', next_up.title, 'starts_at', next_up.starts_at,
            'people', next_up.people,
            'items', coalesce((select json_agg(i order by o.n)
                               from unnest(ranked[1:prep_shown]) with ordinality o(id, n)
                               join item_rows i on i.id = o.id), '[]'),
            'more', greatest(coalesce(cardinality(ranked), 0) - prep_shown, 0));
    end if;

    -- The last week's meetings with other people that still lack notes or a recap: the first
    -- shown, all counted up to `wrap_up_counted`.
    select coalesce(json_agg(json_build_object('id', w.id, 'title', w.title,
                                               'starts_at', w.starts_at, 'has_notes', w.has_notes,
                                               'recap_sent', w.recap_sent)
                             order by w.starts_at desc, w.id)
                    filter (where w.n <= wrap_up_shown), '[]'),
           count(*)
    into waiting, waiting_total
    from (select m.id, m.title, m.starts_at,
                 coalesce(n.body <> '', false) as has_notes,
                 m.recap_sent_at is not null as recap_sent,
                 row_number() over (order by m.starts_at desc, m.id) as n
          from meetings m
          left join notes n on n.user_id = owner and n.meeting_id = m.id
          -- Began before now, too: the index range then ends at now, not at the last meeting
          -- of the calendar months ahead.
          where m.user_id = owner and m.starts_at >= as_of - interval '7 days'
            and m.starts_at < as_of and m.ends_at <= as_of and m.is_meeting
            and m.same_as is null and not m.all_day and m.status <> 'cancelled'
            and (n.id is null or n.body = '' or m.recap_sent_at is null)
            and m.attendee_names <> ''
          order by m.starts_at desc, m.id limit wrap_up_counted) w;

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
        prepared as prep,
        waiting as wrap_up,
        waiting_total as wrap_up_total,
        (select count(*) from (
            select 1 from items i
            where i.user_id = owner and i.kind = 'action' and not i.done and not i.removed
              and i.due <= due_by
            limit follow_up_cap) c) as follow_up_counted;
end $$;
