-- The agenda and list pages ask for meetings overlapping a window (ends after its start):
-- without this index they scan every meeting of the user (measured by bench/run).
create index meetings_user_end_idx on meetings (user_id, ends_at);
