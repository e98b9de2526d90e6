-- An attendee row's meeting and person are checked once per statement instead of once per row.
-- A first sync writes five attendee rows per event, and the two foreign keys ran a query and
-- took a row lock for each of them: inserting 250,000 attendee rows into a copy of the table
-- took 2.2 s without the two keys and 4.8 s with them, a third of bench/sync's first sync.
--
-- The statement-level checks below keep what the foreign keys guaranteed:
--   * every row names a meeting and a person of its own owner, or the statement fails with
--     foreign_key_violation (23503), like the constraint it replaces;
--   * those meetings and people are locked (key share, in id order) until the transaction
--     ends, so a concurrent delete waits for it, and its cascade then sees the new rows;
--   * deleting a meeting or a person deletes its attendee rows (the cascades: statement-level,
--     one delete per statement, through the indexes that lead with the owner).
-- Every writer runs in read committed (only the export reads in repeatable read), so the
-- cascade's delete, a statement of its own, sees rows committed while it waited.

create function attendees_check_references() returns trigger language plpgsql as $$
declare
    wanted bigint;
    found bigint;
begin
    select count(*) into wanted from (select distinct meeting_id, user_id from new_rows) r;
    if current_setting('docket.attendee_names', true) = 'sync' then
        -- Sync's rows name the meetings its own transaction has just written (inserted, or
        -- updated and so locked): nobody else can delete those before it ends.
        select count(*) into found
        from (select distinct meeting_id, user_id from new_rows) r
        cross join lateral (select 1 from meetings m
                            where m.id = r.meeting_id and m.user_id = r.user_id) m;
    else
        -- One primary-key lookup per meeting, in id order (whatever the table's size).
        perform 1
        from (select distinct meeting_id, user_id from new_rows order by meeting_id) r
        cross join lateral (select 1 from meetings m
                            where m.id = r.meeting_id and m.user_id = r.user_id
                            for key share of m) m;
        get diagnostics found = row_count;
    end if;
    if found <> wanted then
        raise foreign_key_violation using
            message = 'an attendee row names a meeting that is not its owner''s',
            constraint = 'attendees_meeting_user_fkey', table = 'attendees';
    end if;
    select count(*) into wanted from (select distinct person_id, user_id from new_rows) r;
    perform 1
    from (select distinct person_id, user_id from new_rows order by person_id) r
    cross join lateral (select 1 from people p
                        where p.id = r.person_id and p.user_id = r.user_id
                        for key share of p) p;
    get diagnostics found = row_count;
    if found <> wanted then
        raise foreign_key_violation using
            message = 'an attendee row names a person that is not its owner''s',
            constraint = 'attendees_person_user_fkey', table = 'attendees';
    end if;
    return null;
end $$;

create trigger attendees_references_in
    after insert on attendees
    referencing new table as new_rows
    for each statement execute function attendees_check_references();

-- An update that points a row elsewhere (rare: no writer does it today) is checked row by row.
create function attendees_check_moved_references() returns trigger language plpgsql as $$
begin
    perform 1 from meetings m where m.id = new.meeting_id and m.user_id = new.user_id
    for key share of m;
    if not found then
        raise foreign_key_violation using
            message = 'an attendee row names a meeting that is not its owner''s',
            constraint = 'attendees_meeting_user_fkey', table = 'attendees';
    end if;
    perform 1 from people p where p.id = new.person_id and p.user_id = new.user_id
    for key share of p;
    if not found then
        raise foreign_key_violation using
            message = 'an attendee row names a person that is not its owner''s',
            constraint = 'attendees_person_user_fkey', table = 'attendees';
    end if;
    return null;
end $$;

create trigger attendees_references_moved
    after update of meeting_id, person_id, user_id on attendees
    for each row
    when (old.meeting_id is distinct from new.meeting_id
          or old.person_id is distinct from new.person_id
          or old.user_id is distinct from new.user_id)
    execute function attendees_check_moved_references();

create function meetings_delete_attendees() returns trigger language plpgsql as $$
begin
    delete from attendees a using old_rows o
    where a.user_id = o.user_id and a.meeting_id = o.id;
    return null;
end $$;

create trigger meetings_attendees_cascade
    after delete on meetings
    referencing old table as old_rows
    for each statement execute function meetings_delete_attendees();

create function people_delete_attendees() returns trigger language plpgsql as $$
begin
    delete from attendees a using old_rows o
    where a.user_id = o.user_id and a.person_id = o.id;
    return null;
end $$;

create trigger people_attendees_cascade
    after delete on people
    referencing old table as old_rows
    for each statement execute function people_delete_attendees();

alter table attendees
    drop constraint attendees_meeting_user_fkey,
    drop constraint attendees_person_user_fkey;

-- Only those keys looked meetings and people up by (id, owner); the primary keys answer the
-- checks above. One b-tree fewer for every meeting sync writes.
drop index meetings_id_user_key;
drop index people_id_user_key;
