-- A first sync writes five attendee rows per event; each row went into the heap and four
-- b-trees (bench/sync). attendees_person_fk_idx (person_id) was there only for the cascade when
-- a person is deleted. The person reference now names the owner too, (person_id, user_id) →
-- people (id, user_id) like the meeting reference (migrations/0023), so the cascade's lookup is
-- answered by attendees_person_time_idx (user_id, person_id, …), and the index goes.
-- (Dropping attendees_meeting_person_idx too, or leading the primary key with the owner, was
-- tried: lookups by meeting alone, such as meetings_refresh_attendee_names, then scanned the
-- table, and sync's attendee delete combined the owner's whole index with the key.)
create unique index people_id_user_key on people (id, user_id);
alter table attendees
    add constraint attendees_person_user_fkey foreign key (person_id, user_id)
        references people (id, user_id) on delete cascade,
    drop constraint attendees_person_id_fkey;
drop index attendees_person_fk_idx;

-- meetings_user_end_idx (user_id, ends_at) has had no reader since Today's agenda finds long
-- events through meetings_long_idx (migrations/0025); every meeting written paid for it.
drop index meetings_user_end_idx;
