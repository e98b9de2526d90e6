-- A first sync writes five attendee rows per event; each row went into the heap and four
-- b-trees, and was checked against its meeting and its person (bench/sync). Two of the b-trees
-- served nothing the others could not:
-- 1. The primary key (meeting_id, person_id) and attendees_meeting_person_idx
--    (user_id, meeting_id, person_id) held the same rows; the key now leads with the owner,
--    which every per-user read names, and the second index goes.
-- 2. attendees_person_fk_idx (person_id) was there only for the cascade when a person is
--    deleted. The person reference now names the owner too, (person_id, user_id) → people
--    (id, user_id) like the meeting reference (migrations/0023), so the cascade's lookup is
--    answered by attendees_person_time_idx (user_id, person_id, …).
alter table attendees drop constraint attendees_pkey;
alter table attendees add constraint attendees_pkey primary key (user_id, meeting_id, person_id);
drop index attendees_meeting_person_idx;

create unique index people_id_user_key on people (id, user_id);
alter table attendees
    add constraint attendees_person_user_fkey foreign key (person_id, user_id)
        references people (id, user_id) on delete cascade,
    drop constraint attendees_person_id_fkey;
drop index attendees_person_fk_idx;

-- 3. meetings_user_end_idx (user_id, ends_at) has had no reader since Today's agenda finds
--    long events through meetings_long_idx (migrations/0025); every meeting written paid for it.
drop index meetings_user_end_idx;
