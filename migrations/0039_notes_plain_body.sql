-- A note's text as search snippets show it (search_plain: Markdown marks and line-start
-- grammar removed), kept with the note instead of worked out for every hit shown.
--
-- Six regular expressions over each shown note's body cost about 1 ms of every search page at
-- bench scale 10 (20 hits, 600-character notes: 6.1 → 5.1 ms for the page's statement, pgbench).
-- A note is saved far less often than it is found, and a save already rewrites the row and its
-- text index. The price is the note's text stored twice.
alter table notes add column plain_body text generated always as (search_plain(body)) stored;
