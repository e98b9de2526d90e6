-- Indexes the pages need at scale (5,000 meetings, 20,000 items per user; see bench/run):
-- a meeting's items, and the attendees of a person's meetings.
create index items_meeting_idx on items (user_id, meeting_id) where not removed;
create index attendees_meeting_person_idx on attendees (user_id, meeting_id, person_id);
