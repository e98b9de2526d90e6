-- A first sync's person counters, once per listing instead of once per batch (bench/sync,
-- auto_explain with log_triggers: the statement trigger below rewrote the person_stats row of
-- every attendee, and its directory index entry, after each batch of 2,500 events, 15 ms of the
-- batch's 270 ms attendee statement: twenty versions of the same 2,000 rows per calendar).
--
-- Sync's listing transaction (marked by `docket.attendee_names = 'sync'`, migrations/0023) adds
-- the meetings its inserted attendee rows count for itself, in one statement before it commits
-- (`Writer::finish`, src/calendar/store.rs). Only that increment is deferred: rows the listing
-- deletes, and counting flags that change (a meeting regrouped or no longer a meeting), still
-- move the counters at once. Counts are sums, so the order does not matter, except for the
-- floor at 0 below: a row inserted and then deleted or uncounted within the listing would be
-- taken off before it was added, so within that transaction the counters are not floored (it
-- adds its increments before it commits; the floor only guards against a counter that drifted;
-- greatest() ignores a null floor).
-- Every other writer still goes through the triggers as before.
create or replace function attendees_count_in() returns trigger language plpgsql as $$
begin
    if current_setting('docket.attendee_names', true) = 'sync' then
        return null;
    end if;
    update person_stats s set meeting_count = s.meeting_count + d.n
    from (select person_id, count(*) as n from new_rows where counted group by person_id) d
    where s.person_id = d.person_id;
    return null;
end $$;

create or replace function attendees_count_out() returns trigger language plpgsql as $$
declare
    floor int := case when current_setting('docket.attendee_names', true) = 'sync'
                      then null else 0 end;
begin
    update person_stats s set meeting_count = greatest(s.meeting_count - d.n, floor)
    from (select person_id, count(*) as n from old_rows where counted group by person_id) d
    where s.person_id = d.person_id;
    return null;
end $$;

create or replace function attendees_count_flag() returns trigger language plpgsql as $$
declare
    floor int := case when current_setting('docket.attendee_names', true) = 'sync'
                      then null else 0 end;
begin
    update person_stats
    set meeting_count = greatest(meeting_count + case when new.counted then 1 else -1 end, floor)
    where person_id = new.person_id;
    return null;
end $$;
