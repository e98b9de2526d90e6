-- Several listings of one user may now run at once (src/sync.rs, DOCKET_SYNC_LISTINGS), and a
-- listing takes the user's lock only in its last step (`Writer::finish`, src/calendar/store.rs).
-- A row lock a listing took earlier and kept to its end could then close a cycle with another
-- listing waiting for that lock. The attendee rows a listing deletes moved the person counters
-- at once, locking those rows to the end; sync now takes the meetings together it removes off
-- the counters itself, with what it adds, in one sorted statement under the lock (as
-- migrations/0026 did for the rows it inserts). Every other writer still goes through the
-- trigger.
create or replace function attendees_count_out() returns trigger language plpgsql as $$
begin
    if current_setting('docket.attendee_names', true) = 'sync' then
        return null;
    end if;
    update person_stats s set meeting_count = greatest(s.meeting_count - d.n, 0)
    from (select person_id, count(*) as n from old_rows where counted group by person_id) d
    where s.person_id = d.person_id;
    return null;
end $$;

-- One meeting per invitation is decided at a listing's end under the user's lock (`Writer::
-- finish`), seeing every listing that finished before. A copy on another calendar may be held
-- by that calendar's listing, still running: waiting for it while holding the lock it will ask
-- for at its end would close a cycle. Such an invitation is left to that listing, which
-- regroups it when it finishes (every row a listing writes is among the invitations it
-- regroups), seeing this one's rows by then. `writer_calendar` is the calendar of the
-- finishing listing (its own rows are never held by another listing); null skips nothing.
create function meetings_regroup(owner uuid, uids text[], writer_calendar uuid) returns void
language plpgsql as $$
declare
    r record;
    held uuid[];
    busy text[];
begin
    held := array(select m.id from meetings m
                  where m.user_id = owner and m.ical_uid = any(uids)
                    and m.calendar_id <> writer_calendar
                  for no key update of m skip locked);
    busy := array(select distinct m.ical_uid from meetings m
                  where m.user_id = owner and m.ical_uid = any(uids)
                    and m.calendar_id <> writer_calendar and m.id <> all(held));
    if cardinality(busy) > 0 then
        uids := array(select u from unnest(uids) u where u <> all(busy));
    end if;
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

create or replace function meetings_regroup(owner uuid, uids text[]) returns void
language sql as $$ select meetings_regroup(owner, uids, null) $$;
