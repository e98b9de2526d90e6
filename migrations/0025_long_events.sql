-- Today's agenda looked 35 days back along the start-time index for events still running (a
-- holiday block that began last month), reading every meeting of those five weeks to keep a
-- handful. Events longer than a day now have an index of their own, by end time, so a window
-- reads the day before it along the start-time index and the long events that end inside or
-- after it here (a few rows: multi-day all-day blocks), however long ago they began.
create index meetings_long_idx on meetings (user_id, ends_at)
    where ends_at - starts_at > interval '24 hours';
