-- The vault export (src/export) reads a user's whole history in keyset batches inside one
-- snapshot. Each batch must start where the previous one ended through an index that leads
-- with user_id, or every batch would read (and sort) all of the user's rows again — or, with no
-- user_id-leading index at all, every tenant's.

-- Standalone notes in creation order (the Notes/ folder; a collision is numbered in this order).
-- Notes had no index by owner outside meetings: the notes page and the export scanned the table.
create index notes_standalone_idx on notes (user_id, created_at, id) where meeting_id is null;

-- People by id: their pages are written merged with one walk of the attendee index, which is
-- ordered by person id (attendees_person_time_idx), so the people are read in that order too.
create index people_user_id_idx on people (user_id, id);
