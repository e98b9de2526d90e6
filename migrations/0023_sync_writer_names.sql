-- A first sync's attendee writes, cheaper (bench/sync, auto_explain with log_triggers: per batch
-- of 1,000 events and 5,000 attendee rows, 640 ms in the attendee statement, of which 200 ms
-- were the attendee-names trigger and 12 ms the row trigger taking the meeting's start).

-- 1. The row trigger that looks up the meeting's start and counting flag runs only when a
--    writer did not supply them (sync always does), instead of entering PL/pgSQL for every
--    attendee row to find out. An update of meeting_id still always looks them up.
drop trigger attendees_meeting_start on attendees;
create trigger attendees_meeting_start
    before insert on attendees
    for each row when (new.starts_at is null or new.counted is null)
    execute function attendees_take_meeting_start();
create trigger attendees_meeting_moved
    before update of meeting_id on attendees
    for each row execute function attendees_take_meeting_start();

-- 2. Who attends (`meetings.attendee_names`, migrations/0009) is kept by sync itself inside its
--    transaction: a meeting it creates gets the names in its insert (from the event's attendees
--    and the people just written), and the meetings whose attendee rows it changed are
--    refreshed once after the batch. The triggers stand aside for that transaction only
--    (`set local docket.attendee_names = 'sync'`, src/calendar/store.rs): through them every
--    new meeting was written twice, and a row inserted in the same transaction re-runs its
--    foreign-key checks on update. Every other writer (demo data, imports, seeds) still goes
--    through them.
create or replace function attendees_names_in() returns trigger language plpgsql as $$
begin
    if current_setting('docket.attendee_names', true) = 'sync' then
        return null;
    end if;
    perform meetings_refresh_attendee_names(array(select distinct meeting_id from new_rows));
    return null;
end $$;

create or replace function attendees_names_changed() returns trigger language plpgsql as $$
begin
    if current_setting('docket.attendee_names', true) = 'sync' then
        return null;
    end if;
    perform meetings_refresh_attendee_names(array(
        select meeting_id from new_rows union select meeting_id from old_rows));
    return null;
end $$;

-- 3. One foreign-key check per attendee row for its meeting and owner instead of two: the row's
--    meeting must be the owner's meeting, (meeting_id, user_id) → meetings (id, user_id), which
--    also keeps the cascades (a meeting or a user deleted deletes the rows). Every attendee row
--    written ran three checks (meeting, person, user), each a query and a row lock: 48% of a
--    first sync's attendee statement.
create unique index meetings_id_user_key on meetings (id, user_id);
alter table attendees
    add constraint attendees_meeting_user_fkey foreign key (meeting_id, user_id)
        references meetings (id, user_id) on delete cascade,
    drop constraint attendees_meeting_id_fkey,
    drop constraint attendees_user_id_fkey;
