//! # The note line grammar
//!
//! A note is Markdown text and the text is the source of truth. This module
//! turns lines of a note into structured [`Item`]s (action items, decisions
//! and questions) with a small, deterministic, line-by-line grammar, keeps
//! their identity across edits ([`match_items`]) and ticks items in the text
//! ([`set_done`]). It never panics, whatever the input, and runs in time
//! roughly linear in the size of the note.
//!
//! ## Lines
//!
//! Lines end with `\n` or `\r\n`; the `\r` is never part of an item's text.
//! Lines inside fenced code blocks are ignored: a fence opens on a line that
//! (after indentation) starts with three or more backticks or tildes and
//! closes on a line holding only a run of at least as many of the same
//! character. An unclosed fence runs to the end of the note, as in
//! CommonMark. Indented code blocks are *not* recognised, because indentation
//! is how nested list items are written.
//!
//! Leading indentation is ignored. A line may start with a list bullet: `-`,
//! `*`, `+`, or `1.` / `1)` (one to nine digits), followed by whitespace.
//! After a bullet, a task checkbox `[ ]`, `[x]` or `[X]` may follow.
//!
//! | written                                   | item                                   |
//! |-------------------------------------------|----------------------------------------|
//! | `- [ ] text`, `* [ ] text`, `1. [ ] text` | open action item                       |
//! | `- [x] text`, `- [X] text`                | done action item                       |
//! | `!! text`, `- !! text`, `- [ ] !! text`   | action item (`!!` is dropped)          |
//! | `Decision: text` (any case), `!d text`    | decision (also after a bullet)         |
//! | `?? text`, `- ?? text`, `- [ ] ?? text`   | open question                          |
//! | `- [x] ?? text`                           | answered question (no answer text)     |
//! | `!a text` directly below a question       | answers that question with `text`      |
//!
//! Markers (`!!`, `??`, `!d`, `!a`) must be followed by whitespace, so `!!!`
//! or `??what` are plain text, and `!D` / `!A` work like `!d` / `!a`. A
//! marker or checkbox with no text after it is not an item. With a checkbox,
//! the line is always an action item unless the text starts with `??`
//! (`- [ ] Decision: x` is an action item whose text is `Decision: x`).
//!
//! A question is *answered* (`done == true`) when the line directly below it
//! (indentation and a bullet allowed) starts with `!a `; the rest of that line
//! is the [`Item::answer`] (or `None` when `!a` stands alone). A question
//! written `- [x] ?? text` is answered too, without answer text. A blank line
//! between the question and `!a` breaks the link. `!a` lines are never items.
//!
//! ## Action items: assignee and due date
//!
//! Mentions and due dates are read in action items only; decisions and
//! questions keep their text exactly as written.
//!
//! **Assignee.** The first `@mention` in the text names the assignee; the
//! mention stays in the text and is reported in [`Item::mention`]. A mention
//! is an `@` at the start of the text or after a character that cannot be part
//! of a handle (so `bob@acme.com` inside a word is not a mention), followed by
//! a letter or digit and then letters, digits, `-`, `_`, `.`, `+`, with an
//! optional `@domain` part; trailing dots are dropped (`@sam.` is `@sam`).
//! * `@sam.lee@acme.com` matches a person by email (case-insensitive).
//! * `@word` matches a person whose first name, full name without spaces, or
//!   email local part equals `word` (case-insensitive).
//!
//! People are looked up first among the meeting's attendees and, only when no
//! attendee matches, among the known people. Exactly one person (duplicates
//! with the same id count once) → assigned. Several → unassigned with a hint
//! such as `@sam matches 2 attendees: Sam Lee, Sam Ortiz — write
//! @sam.lee@acme.com`. Nobody → unassigned with the hint `@zoe matches nobody
//! in this meeting or your people`.
//!
//! **Due date.** All dates are relative to [`Context::meeting_date`], the
//! meeting's local date.
//! * `due:YYYY-MM-DD` (month and day may have one digit; trailing `.,;:!?)]`
//!   is ignored) sets the due date and is removed from the text. An impossible
//!   (`due:2026-02-30`) or malformed (`due:soon`) value gives no due date and a
//!   hint, and stays in the text. Only the first `due:` word counts (later
//!   ones get a hint). When a `due:` word is present, natural phrases are not
//!   consulted, even if the `due:` value was invalid.
//! * Otherwise the first natural phrase (whole words, case-insensitive) wins;
//!   it stays in the text:
//!   * `today` → the meeting date; `tomorrow` → the day after;
//!   * `by friday` / `by fri` (any weekday, full or `mon tue tues wed weds thu
//!     thur thurs fri sat sun`) → the next such weekday *strictly after* the
//!     meeting date, so `by friday` said on a Friday means a week later;
//!   * `next week` → Monday of the following week;
//!   * `end of week`, `end of the week`, `eow` → Friday of the meeting's
//!     Monday-to-Sunday week; when the meeting is on a Saturday or Sunday
//!     (that Friday has passed) it is the meeting date itself, so the due date
//!     is never before the meeting;
//!   * `in N days` / `in 1 day` → N days later; `in N weeks` → 7·N days later;
//!   * `by YYYY-MM-DD` → that date (an impossible date gives a hint).
//!
//! Dates past chrono's range give no due date and a hint; nothing overflows.
//!
//! ## Identity across edits
//!
//! [`Item::fingerprint`] is the item text lower-cased, with whitespace runs
//! collapsed to one space and every `due:…` word removed; it never contains
//! the marker, checkbox or done state, so ticking an item or changing its due
//! date keeps its fingerprint. [`match_items`] pairs new items with stored
//! ones: first exact `(kind, fingerprint)` matches, nearest line first; then,
//! among the rest of the same kind, pairs whose character-bigram Dice
//! similarity is at least [`SIMILARITY_THRESHOLD`], best pairs first. It runs
//! in O(n log n): identical fingerprints are paired among the
//! [`EXACT_WINDOW`] nearest copies (then in line order), and an edited item is
//! compared with at most [`MAX_CANDIDATES`] stored ones, those sharing the
//! most of its rarest bigrams (found through an index).
//!
//! ## Ticking in the text
//!
//! [`set_done`] edits only the one line, byte for byte everywhere else
//! (including `\r\n` endings): a checkbox is toggled (`[ ]` ↔ `[x]`), `!! x`
//! becomes `- [x] x` and `?? q` becomes `- [x] ?? q` (keeping indentation and
//! an existing bullet). Marking done something already done (or open
//! something already open) returns the note unchanged. A question answered by
//! an `!a` line stays answered after `set_done(.., false)`: the answer line is
//! never touched, and deleting it is the way to reopen the question.

use std::{collections::HashMap, ops::Range};

use chrono::{Datelike, Days, NaiveDate, Weekday};
use uuid::Uuid;

/// Minimum character-bigram similarity (0.0–1.0) for [`match_items`] to treat
/// an edited item as the continuation of a stored one.
pub const SIMILARITY_THRESHOLD: f64 = 0.6;

/// A person who can be assigned an action item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Stable id of the person.
    pub id: Uuid,
    /// Display name, e.g. `Sam Lee`.
    pub name: String,
    /// Email address, e.g. `sam.lee@acme.com` (may be empty).
    pub email: String,
}

/// What [`parse`] needs to know about the meeting a note belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The meeting's date in the user's time zone; relative due dates count from it.
    pub meeting_date: NaiveDate,
    /// The meeting's attendees, searched first for `@mentions`.
    pub attendees: &'a [Person],
    /// Everyone else the user knows, searched when no attendee matches.
    pub known_people: &'a [Person],
}

/// The kind of a structured record found in a note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A task: `- [ ] text`, `- [x] text`, `!! text`.
    ActionItem,
    /// A decision: `Decision: text`, `!d text`.
    Decision,
    /// A question: `?? text`, answered by an `!a` line below or `- [x] ?? text`.
    Question,
}

/// One structured record parsed from a line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Action item, decision or question.
    pub kind: Kind,
    /// 0-based index of the line in the note.
    pub line: usize,
    /// Cleaned text: marker and checkbox removed, a valid `due:` word removed, trimmed.
    pub text: String,
    /// Action item ticked, or question answered. Always `false` for decisions.
    pub done: bool,
    /// For a question answered by an `!a` line, the answer text.
    pub answer: Option<String>,
    /// The person the first `@mention` resolves to, if exactly one does.
    pub assignee: Option<Uuid>,
    /// The first `@mention` as written (e.g. `@Sam`), even when unresolved.
    pub mention: Option<String>,
    /// The due date, from `due:YYYY-MM-DD` or a natural phrase.
    pub due: Option<NaiveDate>,
    /// Human-readable warnings: ambiguous or unknown assignee, bad date.
    pub hints: Vec<String>,
    /// Normalised text for matching across edits (see [`match_items`]).
    pub fingerprint: String,
}

/// An item stored for the previous version of a note, as given to [`match_items`].
#[derive(Debug, Clone, Copy)]
pub struct Previous<'a> {
    /// Kind of the stored item.
    pub kind: Kind,
    /// Line the stored item was on (0-based).
    pub line: usize,
    /// The stored item's [`Item::fingerprint`].
    pub fingerprint: &'a str,
}

/// Parses every action item, decision and question in `note`, in line order.
///
/// See the module documentation for the grammar. Never panics.
pub fn parse(note: &str, ctx: &Context) -> Vec<Item> {
    let lines: Vec<&str> = note.split('\n').map(strip_cr).collect();
    let mut fences = Fences::default();
    let code: Vec<bool> = lines.iter().map(|l| fences.is_code(l)).collect();
    let mut items = Vec::new();
    // Built once, so a mention costs a lookup, not a pass over everyone the user knows.
    let people = People {
        attendees: PeopleIndex::new(ctx.attendees),
        known: PeopleIndex::new(ctx.known_people),
    };
    for (i, line) in lines.iter().enumerate() {
        if code[i] {
            continue;
        }
        let Some(p) = parse_line(line) else { continue };
        match p.kind {
            LineKind::Answer => {}
            LineKind::Action => items.push(action_item(i, &p, ctx, &people)),
            LineKind::Decision => items.push(plain_item(Kind::Decision, i, p.body, false, None)),
            LineKind::Question => {
                let answer_line = lines
                    .get(i + 1)
                    .filter(|_| !code[i + 1])
                    .and_then(|l| parse_line(l))
                    .filter(|a| a.kind == LineKind::Answer);
                let ticked = p.checkbox.is_some_and(|(_, checked)| checked);
                let done = ticked || answer_line.is_some();
                let answer = answer_line
                    .map(|a| a.body)
                    .filter(|b| !b.is_empty())
                    .map(str::to_string);
                items.push(plain_item(Kind::Question, i, p.body, done, answer));
            }
        }
    }
    items
}

/// Stable identity across edits.
///
/// Given the items stored for the previous version of a note and the newly
/// parsed `current` items, returns for each current item the index into
/// `previous` of the item it continues, or `None` if it is new. Each previous
/// item is used at most once and kinds never cross.
///
/// 1. Exact `(kind, fingerprint)` matches; among duplicates, the pair with
///    the nearest lines wins (ties: earlier current item, then earlier previous item).
/// 2. Remaining items of the same kind whose fingerprints have a
///    character-bigram Dice similarity of at least [`SIMILARITY_THRESHOLD`],
///    most similar pairs first (ties: nearest lines, then order).
///
/// Runs in O(n log n) for n items: see [`EXACT_WINDOW`] and [`MAX_CANDIDATES`].
pub fn match_items(previous: &[Previous], current: &[Item]) -> Vec<Option<usize>> {
    match_counting(previous, current).0
}

/// Exact duplicates are paired among the nearest this many stored copies on each side (by
/// line); copies left over after that are paired in line order.
pub const EXACT_WINDOW: usize = 8;

/// The most stored items one edited item is compared with in the similarity pass. Candidates
/// come from an index of bigrams: any pair reaching [`SIMILARITY_THRESHOLD`] shares one of the
/// item's rarest bigrams (prefix filtering), and those sharing the most are compared. This is
/// exact unless more than [`MAX_POSTINGS`] entries or this many candidates turn up.
pub const MAX_CANDIDATES: usize = 32;

/// The most index entries read for one edited item in the similarity pass.
pub const MAX_POSTINGS: usize = 512;

/// [`match_items`], also returning how many similarity comparisons it made.
fn match_counting(previous: &[Previous], current: &[Item]) -> (Vec<Option<usize>>, usize) {
    let mut result: Vec<Option<usize>> = vec![None; current.len()];
    let mut used = vec![false; previous.len()];

    // Pass 1: exact fingerprints, grouped by (kind, fingerprint) in a hash map.
    type Group = (Vec<usize>, Vec<usize>);
    let mut groups: HashMap<(Kind, &str), Group> = HashMap::new();
    for (j, p) in previous.iter().enumerate() {
        groups.entry((p.kind, p.fingerprint)).or_default().0.push(j);
    }
    for (i, c) in current.iter().enumerate() {
        if let Some(g) = groups.get_mut(&(c.kind, c.fingerprint.as_str())) {
            g.1.push(i);
        }
    }
    for (mut ps, mut cs) in groups.into_values() {
        if cs.is_empty() {
            continue;
        }
        ps.sort_by_key(|&j| (previous[j].line, j));
        cs.sort_by_key(|&i| (current[i].line, i));
        // Nearest lines first, among a bounded window of stored copies around each line.
        let mut pairs: Vec<(usize, usize, usize)> = Vec::new();
        for &i in &cs {
            let at = ps.partition_point(|&j| previous[j].line < current[i].line);
            let window = &ps[at.saturating_sub(EXACT_WINDOW)..(at + EXACT_WINDOW).min(ps.len())];
            pairs.extend(
                window
                    .iter()
                    .map(|&j| (current[i].line.abs_diff(previous[j].line), i, j)),
            );
        }
        pairs.sort_unstable();
        for (_, i, j) in pairs {
            if result[i].is_none() && !used[j] {
                result[i] = Some(j);
                used[j] = true;
            }
        }
        let rest = ps
            .iter()
            .filter(|&&j| !used[j])
            .copied()
            .collect::<Vec<_>>();
        let waiting: Vec<usize> = cs
            .iter()
            .filter(|&&i| result[i].is_none())
            .copied()
            .collect();
        for (i, j) in waiting.into_iter().zip(rest) {
            result[i] = Some(j);
            used[j] = true;
        }
    }

    // Pass 2: similar fingerprints, per kind.
    let mut comparisons = 0;
    for kind in [Kind::ActionItem, Kind::Decision, Kind::Question] {
        let cs: Vec<usize> = (0..current.len())
            .filter(|&i| result[i].is_none() && current[i].kind == kind)
            .collect();
        let ps: Vec<usize> = (0..previous.len())
            .filter(|&j| !used[j] && previous[j].kind == kind)
            .collect();
        if cs.is_empty() || ps.is_empty() {
            continue;
        }
        let prev_grams: Vec<Vec<(char, char)>> = ps
            .iter()
            .map(|&j| bigrams(previous[j].fingerprint))
            .collect();
        // Each bigram with its occurrence number, so that shared tokens count multisets exactly.
        let mut index: HashMap<Gram, Vec<usize>> = HashMap::new();
        for (pj, grams) in prev_grams.iter().enumerate() {
            for token in tokens(grams) {
                index.entry(token).or_default().push(pj);
            }
        }
        let mut seen_by = vec![usize::MAX; ps.len()];
        let mut shared = vec![0u32; ps.len()];
        let mut pairs: Vec<(f64, usize, usize, usize)> = Vec::new();
        for (ci, &i) in cs.iter().enumerate() {
            let grams = bigrams(&current[i].fingerprint);
            // Fewer than two characters: only an exact match (pass 1) could have been enough.
            if grams.is_empty() {
                continue;
            }
            let mut toks = tokens(&grams);
            let freq = |t: &Gram| index.get(t).map_or(0, Vec::len);
            toks.sort_by_cached_key(|t| (freq(t), *t));
            // Prefix filtering: a pair reaching the threshold shares at least `need` tokens, so
            // it shares one of any `a - need + 1` of them; the rarest give the fewest candidates.
            let a = toks.len();
            let need = (SIMILARITY_THRESHOLD * a as f64 / (2.0 - SIMILARITY_THRESHOLD) - 1e-9)
                .ceil()
                .max(1.0) as usize;
            // Count shared tokens over the rarest postings, within a budget, and compare the
            // stored items sharing the most.
            let mut touched: Vec<usize> = Vec::new();
            let mut budget = MAX_POSTINGS;
            for t in &toks[..a + 1 - need.min(a)] {
                let postings = index.get(t).map_or(&[][..], Vec::as_slice);
                for &pj in postings.iter().take(budget) {
                    if seen_by[pj] != ci {
                        seen_by[pj] = ci;
                        shared[pj] = 0;
                        touched.push(pj);
                    }
                    shared[pj] += 1;
                }
                budget = budget.saturating_sub(postings.len());
                if budget == 0 {
                    break;
                }
            }
            let line = current[i].line;
            touched.sort_by_key(|&pj| {
                let distance = line.abs_diff(previous[ps[pj]].line);
                (std::cmp::Reverse(shared[pj]), distance, pj)
            });
            touched.truncate(MAX_CANDIDATES);
            let candidates = touched;
            for pj in candidates {
                let j = ps[pj];
                comparisons += 1;
                let sim = similarity(
                    &current[i].fingerprint,
                    &grams,
                    previous[j].fingerprint,
                    &prev_grams[pj],
                );
                if sim >= SIMILARITY_THRESHOLD {
                    pairs.push((sim, current[i].line.abs_diff(previous[j].line), i, j));
                }
            }
        }
        pairs.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then(a.1.cmp(&b.1))
                .then(a.2.cmp(&b.2))
                .then(a.3.cmp(&b.3))
        });
        for (_, _, i, j) in pairs {
            if result[i].is_none() && !used[j] {
                result[i] = Some(j);
                used[j] = true;
            }
        }
    }
    (result, comparisons)
}

/// A bigram and which occurrence of it in its string (0 for the first).
type Gram = ((char, char), u32);

/// The tokens of sorted bigrams.
fn tokens(grams: &[(char, char)]) -> Vec<Gram> {
    let mut out: Vec<Gram> = Vec::with_capacity(grams.len());
    for (k, g) in grams.iter().enumerate() {
        let occurrence = match k.checked_sub(1).map(|p| (grams[p], out[p].1)) {
            Some((prev, n)) if prev == *g => n + 1,
            _ => 0,
        };
        out.push((*g, occurrence));
    }
    out
}

/// Rewrites `note` so the action item or question on `line` (0-based) shows
/// as done (`true`) or not done (`false`).
///
/// `- [ ] x` ↔ `- [x] x`; `!! x` → `- [x] x` when done; `?? q` → `- [x] ?? q`
/// when done, `- [x] ?? q` → `- [ ] ?? q` when not. Everything but that line's
/// marker is kept byte for byte, including `\r\n` line endings. Returns the
/// note unchanged when the item is already in the requested state, and `None`
/// when `line` is not an action item or question (a decision, plain text, a
/// line inside a code fence, or past the end — e.g. because the note changed).
pub fn set_done(note: &str, line: usize, done: bool) -> Option<String> {
    let mut fences = Fences::default();
    let mut offset = 0;
    for (i, raw) in note.split_inclusive('\n').enumerate() {
        let content = strip_cr(raw.strip_suffix('\n').unwrap_or(raw));
        let code = fences.is_code(content);
        if i == line {
            if code {
                return None;
            }
            let p = parse_line(content)?;
            let edited = rewrite_line(content, &p, done)?;
            let mut out = String::with_capacity(note.len() + 8);
            out.push_str(&note[..offset]);
            out.push_str(&edited);
            out.push_str(&note[offset + content.len()..]);
            return Some(out);
        }
        offset += raw.len();
    }
    None
}

// ---------------------------------------------------------------------------
// Lines
// ---------------------------------------------------------------------------

fn strip_cr(line: &str) -> &str {
    line.strip_suffix('\r').unwrap_or(line)
}

/// Tracks fenced code blocks while walking lines in order.
#[derive(Default)]
struct Fences {
    /// Fence character and run length of the open fence, if any.
    open: Option<(u8, usize)>,
}

impl Fences {
    /// Feeds the next line; true if it is code (a fence line or inside a fence).
    fn is_code(&mut self, line: &str) -> bool {
        let t = line.trim_start();
        let b = t.as_bytes();
        let ch = match b.first() {
            Some(&c) if c == b'`' || c == b'~' => c,
            _ => return self.open.is_some(),
        };
        let run = b.iter().take_while(|&&x| x == ch).count();
        match self.open {
            None => {
                if run >= 3 {
                    self.open = Some((ch, run));
                    true
                } else {
                    false
                }
            }
            Some((open_ch, open_run)) => {
                // `run` counts ASCII bytes, so it is a char boundary.
                if ch == open_ch && run >= open_run && t[run..].trim().is_empty() {
                    self.open = None;
                }
                true
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Action,
    Decision,
    Question,
    Answer,
}

/// The grammar's view of one line, with byte offsets into it.
#[derive(Debug)]
struct ParsedLine<'a> {
    kind: LineKind,
    bullet: bool,
    /// Byte offset of `[` and whether the box is ticked.
    checkbox: Option<(usize, bool)>,
    /// Byte range of the marker (`!!`, `??`, `!d`, `Decision:`, `!a`), if any.
    marker: Option<(usize, usize)>,
    /// Text after the marker, trimmed.
    body: &'a str,
}

/// If `s` starts with a list bullet and whitespace, the rest after the whitespace.
fn strip_bullet(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let len = match b.first()? {
        b'-' | b'*' | b'+' => 1,
        c if c.is_ascii_digit() => {
            let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
            if digits > 9 || !matches!(b.get(digits), Some(b'.') | Some(b')')) {
                return None;
            }
            digits + 1
        }
        _ => return None,
    };
    let rest = &s[len..];
    if rest.starts_with(char::is_whitespace) {
        Some(rest.trim_start())
    } else {
        None
    }
}

/// If `s` starts with `[ ]`, `[x]` or `[X]` followed by whitespace or the end:
/// whether it is ticked and the rest after the whitespace.
fn strip_checkbox(s: &str) -> Option<(bool, &str)> {
    let checked = match s.as_bytes().get(..3)? {
        b"[ ]" => false,
        b"[x]" | b"[X]" => true,
        _ => return None,
    };
    let rest = &s[3..];
    if rest.is_empty() || rest.starts_with(char::is_whitespace) {
        Some((checked, rest.trim_start()))
    } else {
        None
    }
}

/// If `s` starts with one of `markers` followed by whitespace or the end, the rest.
fn strip_marker<'a>(s: &'a str, markers: &[&str]) -> Option<&'a str> {
    markers.iter().find_map(|m| {
        let rest = s.strip_prefix(m)?;
        (rest.is_empty() || rest.starts_with(char::is_whitespace)).then_some(rest)
    })
}

fn parse_line(line: &str) -> Option<ParsedLine<'_>> {
    let at = |rest: &str| line.len() - rest.len();
    let mut rest = line.trim_start();
    let mut bullet = false;
    if let Some(r) = strip_bullet(rest) {
        rest = r;
        bullet = true;
    }
    let mut checkbox = None;
    if bullet && let Some((checked, r)) = strip_checkbox(rest) {
        checkbox = Some((at(rest), checked));
        rest = r;
    }
    let start = at(rest);
    let (kind, after) = if checkbox.is_some() {
        if let Some(r) = strip_marker(rest, &["??"]) {
            (LineKind::Question, Some(r))
        } else if let Some(r) = strip_marker(rest, &["!!"]) {
            (LineKind::Action, Some(r))
        } else {
            (LineKind::Action, None)
        }
    } else if let Some(r) = strip_marker(rest, &["!!"]) {
        (LineKind::Action, Some(r))
    } else if let Some(r) = strip_marker(rest, &["??"]) {
        (LineKind::Question, Some(r))
    } else if let Some(r) = strip_marker(rest, &["!d", "!D"]) {
        (LineKind::Decision, Some(r))
    } else if rest
        .get(..9)
        .is_some_and(|p| p.eq_ignore_ascii_case("decision:"))
    {
        (LineKind::Decision, Some(&rest[9..]))
    } else if let Some(r) = strip_marker(rest, &["!a", "!A"]) {
        (LineKind::Answer, Some(r))
    } else {
        return None;
    };
    let marker = after.map(|r| (start, at(r)));
    let body = after.unwrap_or(rest).trim();
    if body.is_empty() && kind != LineKind::Answer {
        return None;
    }
    Some(ParsedLine {
        kind,
        bullet,
        checkbox,
        marker,
        body,
    })
}

/// The line with its item shown as done / not done, or `None` if it cannot be ticked.
fn rewrite_line(content: &str, p: &ParsedLine, done: bool) -> Option<String> {
    if !matches!(p.kind, LineKind::Action | LineKind::Question) {
        return None;
    }
    if let Some((at, checked)) = p.checkbox {
        if checked == done {
            return Some(content.to_string());
        }
        let mark = if done { "x" } else { " " };
        return Some(format!(
            "{}{}{}",
            &content[..at + 1],
            mark,
            &content[at + 2..]
        ));
    }
    if !done {
        return Some(content.to_string());
    }
    let (start, end) = p.marker?;
    let bullet = if p.bullet { "" } else { "- " };
    Some(if p.kind == LineKind::Action {
        // `!! x` -> `- [x] x`: the `!!` marker becomes the checkbox.
        format!("{}{bullet}[x]{}", &content[..start], &content[end..])
    } else {
        // `?? q` -> `- [x] ?? q`: the question marker stays.
        format!("{}{bullet}[x] {}", &content[..start], &content[start..])
    })
}

/// An action item's text as lists show it, beside its assignee and due date: without the
/// first `@mention` when `assigned`, and without the natural due phrase (`by Friday`) when
/// `dated` — the words that became those fields. (A valid `due:` word is never in
/// [`Item::text`].) The note line keeps them all; text that would be left empty is kept whole.
pub fn display_text(text: &str, assigned: bool, dated: bool) -> String {
    let mut cut: Vec<Range<usize>> = Vec::new();
    if assigned && let Some((raw, _)) = find_mention(text) {
        // `raw` borrows from `text`: its offset is where it starts.
        let start = raw.as_ptr() as usize - text.as_ptr() as usize;
        cut.push(start..start + raw.len());
    }
    // Which date a phrase means does not matter here, only where it is.
    let any_day = NaiveDate::from_ymd_opt(2000, 1, 3).expect("a real date");
    if dated && let Some((range, Ok(_))) = natural_due(text, any_day) {
        cut.push(range);
    }
    cut.sort_by_key(|r| r.start);
    let mut kept = String::with_capacity(text.len());
    let mut at = 0;
    for range in cut {
        if range.start >= at {
            kept.push_str(&text[at..range.start]);
            kept.push(' ');
            at = range.end;
        }
    }
    kept.push_str(&text[at..]);
    // Whitespace runs become one space, and none is left before punctuation.
    let mut out = String::with_capacity(kept.len());
    for word in kept.split_whitespace() {
        if !out.is_empty() && !word.starts_with(TRAILING_PUNCT) {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.chars().all(|c| !c.is_alphanumeric()) {
        return text.to_owned();
    }
    out
}

// ---------------------------------------------------------------------------
// Items
// ---------------------------------------------------------------------------

fn plain_item(kind: Kind, line: usize, body: &str, done: bool, answer: Option<String>) -> Item {
    Item {
        kind,
        line,
        text: body.to_string(),
        done,
        answer,
        assignee: None,
        mention: None,
        due: None,
        hints: Vec::new(),
        fingerprint: fingerprint(body),
    }
}

fn action_item(line: usize, p: &ParsedLine, ctx: &Context, people: &People) -> Item {
    let mut hints = Vec::new();
    let (text, due) = take_due(p.body, ctx.meeting_date, &mut hints);
    let (mention, assignee) = match find_mention(&text) {
        Some((raw, word)) => (
            Some(raw.to_string()),
            resolve_mention(raw, word, people, &mut hints),
        ),
        None => (None, None),
    };
    let fingerprint = fingerprint(&text);
    Item {
        kind: Kind::ActionItem,
        line,
        text,
        done: p.checkbox.is_some_and(|(_, checked)| checked),
        answer: None,
        assignee,
        mention,
        due,
        hints,
        fingerprint,
    }
}

fn is_due_word(word: &str) -> bool {
    word.get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("due:"))
}

fn fingerprint(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace().filter(|w| !is_due_word(w)) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// Whitespace-separated words with their byte offsets.
fn words(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        if c.is_whitespace() {
            if let Some(st) = start.take() {
                out.push((st, &s[st..i]));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        out.push((st, &s[st..]));
    }
    out
}

// ---------------------------------------------------------------------------
// Due dates
// ---------------------------------------------------------------------------

const TRAILING_PUNCT: &[char] = &['.', ',', ';', ':', '!', '?', ')', ']'];

enum Ymd {
    Valid(NaiveDate),
    Impossible,
    NotADate,
}

/// Parses `YYYY-MM-DD` (month and day may have one digit).
fn parse_ymd(s: &str) -> Ymd {
    let mut parts = s.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Ymd::NotADate;
    };
    let digits = |p: &str, min: usize, max: usize| {
        (min..=max).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
    };
    if !(digits(y, 4, 4) && digits(m, 1, 2) && digits(d, 1, 2)) {
        return Ymd::NotADate;
    }
    match (y.parse::<i32>(), m.parse::<u32>(), d.parse::<u32>()) {
        (Ok(y), Ok(m), Ok(d)) => match NaiveDate::from_ymd_opt(y, m, d) {
            Some(date) => Ymd::Valid(date),
            None => Ymd::Impossible,
        },
        _ => Ymd::NotADate,
    }
}

/// Finds the due date of an action item's body; returns the cleaned text and the date.
fn take_due(
    body: &str,
    meeting: NaiveDate,
    hints: &mut Vec<String>,
) -> (String, Option<NaiveDate>) {
    let due_words: Vec<(usize, &str)> = words(body)
        .into_iter()
        .filter(|(_, w)| is_due_word(w))
        .collect();
    if let Some(&(start, word)) = due_words.first() {
        for (_, extra) in &due_words[1..] {
            hints.push(format!(
                "only the first due: date counts; {extra} is ignored"
            ));
        }
        let value = word[4..].trim_end_matches(TRAILING_PUNCT);
        match parse_ymd(value) {
            Ymd::Valid(date) => {
                let end = start + 4 + value.len();
                let text = format!("{}{}", body[..start].trim_end(), &body[end..]);
                return (text.trim().to_string(), Some(date));
            }
            Ymd::Impossible => hints.push(format!("due:{value} is not a real date")),
            Ymd::NotADate => {
                hints.push(format!("due:{value} is not a date — write due:YYYY-MM-DD"))
            }
        }
        return (body.to_string(), None);
    }
    match natural_due(body, meeting).map(|(_, due)| due) {
        Some(Ok(date)) => (body.to_string(), Some(date)),
        Some(Err(hint)) => {
            hints.push(hint);
            (body.to_string(), None)
        }
        None => (body.to_string(), None),
    }
}

/// A run of alphanumeric characters: byte range and (for short runs) lowercase form.
struct Token {
    start: usize,
    end: usize,
    lower: String,
}

fn alnum_tokens(s: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut start = None;
    let mut push = |st: usize, end: usize| {
        let raw = &s[st..end];
        // No phrase word is longer than 9 bytes; skip lower-casing long runs.
        let lower = if raw.len() <= 16 {
            raw.to_lowercase()
        } else {
            String::new()
        };
        out.push(Token {
            start: st,
            end,
            lower,
        });
    };
    for (i, c) in s.char_indices() {
        if c.is_alphanumeric() {
            if start.is_none() {
                start = Some(i);
            }
        } else if let Some(st) = start.take() {
            push(st, i);
        }
    }
    if let Some(st) = start {
        push(st, s.len());
    }
    out
}

fn weekday_from(word: &str) -> Option<Weekday> {
    Some(match word {
        "mon" | "monday" => Weekday::Mon,
        "tue" | "tues" | "tuesday" => Weekday::Tue,
        "wed" | "weds" | "wednesday" => Weekday::Wed,
        "thu" | "thur" | "thurs" | "thursday" => Weekday::Thu,
        "fri" | "friday" => Weekday::Fri,
        "sat" | "saturday" => Weekday::Sat,
        "sun" | "sunday" => Weekday::Sun,
        _ => return None,
    })
}

fn add_days(date: NaiveDate, days: u64) -> Result<NaiveDate, String> {
    date.checked_add_days(Days::new(days))
        .ok_or_else(|| format!("the due date {days} days after {date} is out of range"))
}

/// The next `target` weekday strictly after `date` (a week later if `date` is one).
fn next_weekday(date: NaiveDate, target: Weekday) -> Result<NaiveDate, String> {
    let cur = date.weekday().num_days_from_monday();
    let delta = (target.num_days_from_monday() + 7 - cur) % 7;
    add_days(date, if delta == 0 { 7 } else { u64::from(delta) })
}

/// Friday of the meeting's Monday–Sunday week, or the date itself on a weekend.
fn end_of_week(date: NaiveDate) -> Result<NaiveDate, String> {
    let cur = date.weekday().num_days_from_monday();
    if cur <= 4 {
        add_days(date, u64::from(4 - cur))
    } else {
        Ok(date)
    }
}

/// Monday of the week after the meeting's week.
fn next_week(date: NaiveDate) -> Result<NaiveDate, String> {
    add_days(date, u64::from(7 - date.weekday().num_days_from_monday()))
}

/// The first natural due-date phrase in `text`, if any: its byte range and the date it means.
fn natural_due(text: &str, date: NaiveDate) -> Option<(Range<usize>, Result<NaiveDate, String>)> {
    let toks = alnum_tokens(text);
    // Tokens k and k+1 are separated by whitespace only.
    let adjacent = |k: usize| {
        toks.get(k + 1).is_some_and(|next| {
            let gap = &text[toks[k].end..next.start];
            !gap.is_empty() && gap.chars().all(char::is_whitespace)
        })
    };
    // Tokens after k are exactly `seq`, separated by whitespace.
    let followed_by = |k: usize, seq: &[&str]| {
        seq.iter()
            .enumerate()
            .all(|(n, w)| adjacent(k + n) && toks[k + n + 1].lower == *w)
    };
    for (i, tok) in toks.iter().enumerate() {
        // The phrase's last token, and the date.
        let through = |last: usize| toks[last].end;
        let found = match tok.lower.as_str() {
            "today" => Some((tok.end, Ok(date))),
            "tomorrow" => Some((tok.end, add_days(date, 1))),
            "eow" => Some((tok.end, end_of_week(date))),
            "end" if followed_by(i, &["of", "week"]) => Some((through(i + 2), end_of_week(date))),
            "end" if followed_by(i, &["of", "the", "week"]) => {
                Some((through(i + 3), end_of_week(date)))
            }
            "next" if followed_by(i, &["week"]) => Some((through(i + 1), next_week(date))),
            "in" if adjacent(i) && adjacent(i + 1) => {
                let n = &toks[i + 1];
                in_n_units(&text[n.start..n.end], &toks[i + 2].lower, date)
                    .map(|due| (through(i + 2), due))
            }
            "by" if adjacent(i) => {
                let next = &toks[i + 1];
                if let Some(wd) = weekday_from(&next.lower) {
                    Some((next.end, next_weekday(date, wd)))
                } else {
                    let rest = &text[next.start..];
                    let raw = rest
                        .split(char::is_whitespace)
                        .next()
                        .unwrap_or("")
                        .trim_end_matches(TRAILING_PUNCT);
                    let end = next.start + raw.len();
                    match parse_ymd(raw) {
                        Ymd::Valid(d) => Some((end, Ok(d))),
                        Ymd::Impossible => Some((end, Err(format!("by {raw} is not a real date")))),
                        Ymd::NotADate => None,
                    }
                }
            }
            _ => None,
        };
        if let Some((end, due)) = found {
            return Some((tok.start..end, due));
        }
    }
    None
}

/// `in N day(s)` / `in N week(s)`.
fn in_n_units(number: &str, unit: &str, date: NaiveDate) -> Option<Result<NaiveDate, String>> {
    let per = match unit {
        "day" | "days" => 1,
        "week" | "weeks" => 7,
        _ => return None,
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let days = number.parse::<u64>().ok().and_then(|n| n.checked_mul(per));
    Some(match days {
        Some(days) => add_days(date, days),
        None => {
            // `number` is ASCII digits, so any byte index is a char boundary.
            let shown = if number.len() > 24 {
                format!("{}…", &number[..24])
            } else {
                number.to_string()
            };
            Err(format!("in {shown} {unit} is out of range"))
        }
    })
}

// ---------------------------------------------------------------------------
// Mentions
// ---------------------------------------------------------------------------

fn is_handle_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '+')
}

/// Byte length of the longest prefix of `s` whose chars satisfy `f`.
fn run_len(s: &str, f: impl Fn(char) -> bool) -> usize {
    s.char_indices()
        .find(|&(_, c)| !f(c))
        .map_or(s.len(), |(i, _)| i)
}

/// Length of the handle (without `@`) at the start of `s`, if there is one.
fn handle_len(s: &str) -> Option<usize> {
    if !s.starts_with(char::is_alphanumeric) {
        return None;
    }
    let mut end = run_len(s, is_handle_char);
    if let Some(domain) = s[end..].strip_prefix('@')
        && domain.starts_with(char::is_alphanumeric)
    {
        end += 1 + run_len(domain, |c| {
            c.is_alphanumeric() || matches!(c, '-' | '.' | '_')
        });
    }
    Some(s[..end].trim_end_matches('.').len())
}

/// The first `@mention` in `text`: the raw mention (with `@`) and the handle.
fn find_mention(text: &str) -> Option<(&str, &str)> {
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        if c == '@'
            && prev.is_none_or(|p| !is_handle_char(p) && p != '@')
            && let Some(len) = handle_len(&text[i + 1..])
        {
            return Some((&text[i..i + 1 + len], &text[i + 1..i + 1 + len]));
        }
        prev = Some(c);
    }
    None
}

/// The keys a mention can match a person by: their lower-cased address, and their first name,
/// full name without spaces and address local part (empty keys never match: a handle is not empty).
fn person_keys(p: &Person) -> (String, [String; 3]) {
    let email = p.email.trim().to_lowercase();
    let first = p
        .name
        .split_whitespace()
        .next()
        .map(str::to_lowercase)
        .unwrap_or_default();
    let full: String = p
        .name
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    let local = email.split_once('@').map_or("", |(l, _)| l).to_owned();
    (email, [first, full, local])
}

/// The people a mention may name, indexed by [`person_keys`].
struct PeopleIndex<'p> {
    people: &'p [Person],
    by_email: HashMap<String, Vec<usize>>,
    by_name: HashMap<String, Vec<usize>>,
}

impl<'p> PeopleIndex<'p> {
    fn new(people: &'p [Person]) -> Self {
        let mut by_email: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (k, p) in people.iter().enumerate() {
            let (email, names) = person_keys(p);
            if !email.is_empty() {
                by_email.entry(email).or_default().push(k);
            }
            for name in names.into_iter().filter(|n| !n.is_empty()) {
                let list = by_name.entry(name).or_default();
                if list.last() != Some(&k) {
                    list.push(k);
                }
            }
        }
        PeopleIndex {
            people,
            by_email,
            by_name,
        }
    }

    /// Distinct people (by id) matching the mention, in list order.
    fn matching(&self, key: &str, by_email: bool) -> Vec<&'p Person> {
        let index = if by_email {
            &self.by_email
        } else {
            &self.by_name
        };
        let mut out: Vec<&Person> = Vec::new();
        for &k in index.get(key).map_or(&[][..], Vec::as_slice) {
            let p = &self.people[k];
            if !out.iter().any(|q| q.id == p.id) {
                out.push(p);
            }
        }
        out
    }
}

/// The meeting's attendees, searched first, and everyone else the user knows.
struct People<'p> {
    attendees: PeopleIndex<'p>,
    known: PeopleIndex<'p>,
}

fn ambiguity_hint(raw: &str, found: &[&Person], group: &str) -> String {
    let mut names: Vec<&str> = found.iter().take(5).map(|p| p.name.as_str()).collect();
    if found.len() > 5 {
        names.push("…");
    }
    let advice = match found.iter().find(|p| !p.email.trim().is_empty()) {
        Some(p) => format!("write @{}", p.email.trim()),
        None => "write their email address".to_string(),
    };
    format!(
        "{raw} matches {} {group}: {} — {advice}",
        found.len(),
        names.join(", ")
    )
}

fn resolve_mention(
    raw: &str,
    handle: &str,
    people: &People,
    hints: &mut Vec<String>,
) -> Option<Uuid> {
    let key = handle.to_lowercase();
    let by_email = key.contains('@');
    let attendees = people.attendees.matching(&key, by_email);
    match attendees.len() {
        1 => return Some(attendees[0].id),
        0 => {}
        _ => {
            hints.push(ambiguity_hint(raw, &attendees, "attendees"));
            return None;
        }
    }
    let known = people.known.matching(&key, by_email);
    match known.len() {
        1 => Some(known[0].id),
        0 => {
            hints.push(format!(
                "{raw} matches nobody in this meeting or your people"
            ));
            None
        }
        _ => {
            hints.push(ambiguity_hint(raw, &known, "of your people"));
            None
        }
    }
}

// ---------------------------------------------------------------------------
// Similarity
// ---------------------------------------------------------------------------

/// Sorted character bigrams of (at most the first 2000 chars of) `s`.
fn bigrams(s: &str) -> Vec<(char, char)> {
    let chars: Vec<char> = s.chars().take(2000).collect();
    let mut grams: Vec<(char, char)> = chars.windows(2).map(|w| (w[0], w[1])).collect();
    grams.sort_unstable();
    grams
}

/// Sørensen–Dice coefficient over character bigrams (multisets), 0.0–1.0.
fn similarity(a: &str, ga: &[(char, char)], b: &str, gb: &[(char, char)]) -> f64 {
    if ga.is_empty() || gb.is_empty() {
        return if a == b { 1.0 } else { 0.0 };
    }
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < ga.len() && j < gb.len() {
        match ga[i].cmp(&gb[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    (2 * common) as f64 / (ga.len() + gb.len()) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn person(n: u128, name: &str, email: &str) -> Person {
        Person {
            id: Uuid::from_u128(n),
            name: name.to_string(),
            email: email.to_string(),
        }
    }

    fn attendees() -> Vec<Person> {
        vec![
            person(1, "Sam Lee", "sam.lee@acme.com"),
            person(2, "Sam Ortiz", "sortiz@acme.com"),
            person(3, "Priya Natarajan", "priya@acme.com"),
            person(4, "José Álvarez", "jose@acme.com"),
        ]
    }

    fn known() -> Vec<Person> {
        vec![
            person(10, "Dana Kim", "dana@partner.org"),
            person(11, "Priya Shah", "pshah@partner.org"),
            person(12, "Alex Chen", "alex.chen@partner.org"),
            person(13, "Alex Moreau", "amoreau@partner.org"),
        ]
    }

    /// Meeting on Wednesday 2026-03-04.
    fn parse_on(note: &str, date: NaiveDate) -> Vec<Item> {
        let a = attendees();
        let k = known();
        let ctx = Context {
            meeting_date: date,
            attendees: &a,
            known_people: &k,
        };
        parse(note, &ctx)
    }

    fn parse_wed(note: &str) -> Vec<Item> {
        parse_on(note, d(2026, 3, 4))
    }

    fn one(note: &str) -> Item {
        let items = parse_wed(note);
        assert_eq!(
            items.len(),
            1,
            "expected one item in {note:?}, got {items:#?}"
        );
        items.into_iter().next().unwrap()
    }

    fn due_on(text: &str, date: NaiveDate) -> Option<NaiveDate> {
        let items = parse_on(&format!("- [ ] {text}"), date);
        assert_eq!(items.len(), 1);
        items[0].due
    }

    fn prev_of(items: &[Item]) -> Vec<Previous<'_>> {
        items
            .iter()
            .map(|i| Previous {
                kind: i.kind,
                line: i.line,
                fingerprint: &i.fingerprint,
            })
            .collect()
    }

    // --- line grammar -----------------------------------------------------

    #[test]
    fn the_test_meeting_is_on_a_wednesday() {
        assert_eq!(d(2026, 3, 4).weekday(), Weekday::Wed);
        assert_eq!(d(2025, 12, 30).weekday(), Weekday::Tue);
        assert_eq!(d(2026, 1, 30).weekday(), Weekday::Fri);
    }

    #[test]
    fn dash_checkbox_is_an_open_action_item() {
        let item = one("- [ ] Send the deck");
        assert_eq!(item.kind, Kind::ActionItem);
        assert_eq!(item.text, "Send the deck");
        assert!(!item.done);
        assert_eq!(item.line, 0);
        assert!(item.hints.is_empty());
    }

    #[test]
    fn star_checkbox_is_an_open_action_item() {
        let item = one("* [ ] Book the room");
        assert_eq!(item.kind, Kind::ActionItem);
        assert_eq!(item.text, "Book the room");
        assert!(!item.done);
    }

    #[test]
    fn plus_and_ordered_bullets_with_a_checkbox_are_action_items() {
        let items = parse_wed("+ [ ] one\n1. [x] two\n12) [ ] three");
        let texts: Vec<&str> = items.iter().map(|i| i.text.as_str()).collect();
        assert_eq!(texts, ["one", "two", "three"]);
        assert!(items.iter().all(|i| i.kind == Kind::ActionItem));
        assert!(items[1].done);
    }

    #[test]
    fn double_bang_is_an_open_action_item_without_the_marker() {
        let item = one("!! Call the vendor");
        assert_eq!(item.kind, Kind::ActionItem);
        assert_eq!(item.text, "Call the vendor");
        assert!(!item.done);
        assert_eq!(one("- !! Call the vendor").text, "Call the vendor");
        assert_eq!(one("- [ ] !! Call the vendor").text, "Call the vendor");
    }

    #[test]
    fn ticked_checkbox_in_either_case_is_a_done_action_item() {
        let items = parse_wed("- [x] lower\n- [X] upper");
        assert_eq!(items.len(), 2);
        assert!(items.iter().all(|i| i.done && i.kind == Kind::ActionItem));
        assert_eq!(items[1].text, "upper");
    }

    #[test]
    fn decision_prefix_is_case_insensitive() {
        for line in ["Decision: ship it", "decision: ship it", "DECISION:ship it"] {
            let item = one(line);
            assert_eq!(item.kind, Kind::Decision, "{line}");
            assert_eq!(item.text, "ship it");
            assert!(!item.done);
        }
    }

    #[test]
    fn bang_d_is_a_decision() {
        let item = one("!d Use Postgres");
        assert_eq!(item.kind, Kind::Decision);
        assert_eq!(item.text, "Use Postgres");
        assert_eq!(one("!D Use Postgres").kind, Kind::Decision);
    }

    #[test]
    fn decision_after_a_list_bullet_is_recognised() {
        assert_eq!(one("- Decision: go").kind, Kind::Decision);
        assert_eq!(one("  * !d go").kind, Kind::Decision);
    }

    #[test]
    fn decisions_keep_mentions_and_due_words_as_written() {
        let item = one("Decision: @sam owns it due:2026-04-01");
        assert_eq!(item.text, "@sam owns it due:2026-04-01");
        assert_eq!(item.assignee, None);
        assert_eq!(item.mention, None);
        assert_eq!(item.due, None);
        assert!(item.hints.is_empty());
    }

    #[test]
    fn checkbox_makes_an_action_item_even_with_a_decision_word() {
        let item = one("- [ ] Decision: tbd");
        assert_eq!(item.kind, Kind::ActionItem);
        assert_eq!(item.text, "Decision: tbd");
    }

    #[test]
    fn question_marker_is_an_open_question() {
        let item = one("?? Who owns billing?");
        assert_eq!(item.kind, Kind::Question);
        assert_eq!(item.text, "Who owns billing?");
        assert!(!item.done);
        assert_eq!(item.answer, None);
        assert_eq!(one("- ?? still open").kind, Kind::Question);
        assert!(!one("- [ ] ?? still open").done);
    }

    #[test]
    fn question_followed_by_an_answer_line_is_answered_with_that_text() {
        let items = parse_wed("?? Who owns billing?\n!a Priya does\nnext");
        assert_eq!(items.len(), 1);
        assert!(items[0].done);
        assert_eq!(items[0].answer.as_deref(), Some("Priya does"));
    }

    #[test]
    fn indented_or_bulleted_answer_line_also_answers() {
        let items = parse_wed("- ?? budget?\n    !a approved\n- ?? date?\n  - !A June");
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].answer.as_deref(), Some("approved"));
        assert_eq!(items[1].answer.as_deref(), Some("June"));
    }

    #[test]
    fn answer_line_that_is_not_directly_below_does_not_answer() {
        let items = parse_wed("?? budget?\n\n!a approved");
        assert_eq!(items.len(), 1);
        assert!(!items[0].done);
        assert_eq!(items[0].answer, None);
    }

    #[test]
    fn lone_answer_marker_answers_without_text() {
        let items = parse_wed("?? budget?\n!a");
        assert!(items[0].done);
        assert_eq!(items[0].answer, None);
    }

    #[test]
    fn ticked_question_is_answered_without_answer_text() {
        let item = one("- [x] ?? Is the API frozen?");
        assert_eq!(item.kind, Kind::Question);
        assert!(item.done);
        assert_eq!(item.answer, None);
        assert_eq!(item.text, "Is the API frozen?");
    }

    #[test]
    fn answer_lines_alone_are_not_items() {
        assert!(parse_wed("!a nothing to answer\n- !a still nothing").is_empty());
    }

    #[test]
    fn plain_lines_headings_and_bare_checkboxes_are_not_items() {
        let note = "# Standup\nSome prose.\n- a bullet\n[ ] no bullet\n-[ ] no space\n---\n> quote";
        assert!(parse_wed(note).is_empty());
    }

    #[test]
    fn markers_without_text_are_not_items() {
        assert!(parse_wed("- [ ]\n- [x]   \n!!\n?? \n!d\nDecision:   ").is_empty());
    }

    #[test]
    fn markers_must_be_followed_by_whitespace() {
        assert!(parse_wed("!!!\n??what\n!dup\n- [x]done\n!!\u{a0}x is fine").len() == 1);
    }

    #[test]
    fn line_numbers_are_zero_based_indices_into_the_note() {
        let items = parse_wed("intro\n\n- [ ] a\ntext\n!d b\n?? c");
        let lines: Vec<usize> = items.iter().map(|i| i.line).collect();
        assert_eq!(lines, [2, 4, 5]);
    }

    #[test]
    fn nested_indented_items_are_recognised() {
        let items = parse_wed("- topic\n    - [ ] nested\n\t!! tabbed");
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].text, "nested");
        assert_eq!(items[1].text, "tabbed");
    }

    #[test]
    fn lines_inside_code_fences_are_ignored() {
        let note = "- [ ] before\n```rust\n- [ ] inside\n!d inside\n```\n- [ ] after";
        let items = parse_wed(note);
        let texts: Vec<&str> = items.iter().map(|i| i.text.as_str()).collect();
        assert_eq!(texts, ["before", "after"]);
        assert_eq!(items[1].line, 5);
    }

    #[test]
    fn tilde_fences_and_longer_fences_need_a_matching_close() {
        let note = "~~~~\n```\n- [ ] still code\n~~~\n- [ ] still code\n~~~~\n- [ ] out";
        let items = parse_wed(note);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].text, "out");
    }

    #[test]
    fn an_unclosed_fence_hides_the_rest_of_the_note() {
        assert!(parse_wed("  ```\n- [ ] hidden\n?? hidden").is_empty());
    }

    #[test]
    fn a_question_is_not_answered_by_a_line_inside_a_fence() {
        let items = parse_wed("?? q\n```\n!a no\n```");
        assert!(!items[0].done);
    }

    #[test]
    fn crlf_notes_parse_without_carriage_returns() {
        let note =
            "- [ ] one\r\n?? two\r\n!a yes\r\n```\r\n- [ ] code\r\n```\r\nDecision: three\r\n";
        let items = parse_wed(note);
        let texts: Vec<&str> = items.iter().map(|i| i.text.as_str()).collect();
        assert_eq!(texts, ["one", "two", "three"]);
        assert_eq!(items[1].answer.as_deref(), Some("yes"));
        assert_eq!(items[2].line, 6);
    }

    #[test]
    fn unicode_text_is_kept_intact() {
        let item = one("- [ ] Überprüfen: naïve café 😀 — 日本語 @José");
        assert_eq!(item.text, "Überprüfen: naïve café 😀 — 日本語 @José");
        assert_eq!(item.fingerprint, "überprüfen: naïve café 😀 — 日本語 @josé");
        assert_eq!(item.assignee, Some(Uuid::from_u128(4)));
    }

    // --- mentions ---------------------------------------------------------

    #[test]
    fn email_mention_assigns_case_insensitively() {
        let item = one("- [ ] Draft memo @Sam.Lee@ACME.com");
        assert_eq!(item.assignee, Some(Uuid::from_u128(1)));
        assert_eq!(item.mention.as_deref(), Some("@Sam.Lee@ACME.com"));
        assert!(item.hints.is_empty());
    }

    #[test]
    fn unique_first_name_assigns_the_attendee() {
        let item = one("- [ ] @priya to check numbers");
        assert_eq!(item.assignee, Some(Uuid::from_u128(3)));
        assert_eq!(item.mention.as_deref(), Some("@priya"));
    }

    #[test]
    fn full_name_without_spaces_assigns_the_attendee() {
        assert_eq!(
            one("- [ ] ask @SamOrtiz").assignee,
            Some(Uuid::from_u128(2))
        );
    }

    #[test]
    fn email_local_part_assigns_the_attendee() {
        assert_eq!(one("- [ ] ask @sortiz").assignee, Some(Uuid::from_u128(2)));
        assert_eq!(one("- [ ] ask @sam.lee").assignee, Some(Uuid::from_u128(1)));
    }

    #[test]
    fn ambiguous_first_name_is_unassigned_with_a_hint() {
        let item = one("- [ ] @sam to follow up");
        assert_eq!(item.assignee, None);
        assert_eq!(item.mention.as_deref(), Some("@sam"));
        assert_eq!(
            item.hints,
            ["@sam matches 2 attendees: Sam Lee, Sam Ortiz — write @sam.lee@acme.com"]
        );
    }

    #[test]
    fn an_attendee_match_wins_over_known_people() {
        // "priya" is also Priya Shah's first name among known people.
        let item = one("- [ ] @Priya review");
        assert_eq!(item.assignee, Some(Uuid::from_u128(3)));
        assert!(item.hints.is_empty());
    }

    #[test]
    fn known_people_are_used_when_no_attendee_matches() {
        let item = one("- [ ] loop in @dana");
        assert_eq!(item.assignee, Some(Uuid::from_u128(10)));
        assert_eq!(
            one("- [ ] @pshah@partner.org").assignee,
            Some(Uuid::from_u128(11))
        );
    }

    #[test]
    fn ambiguous_among_known_people_is_unassigned_with_a_hint() {
        let item = one("- [ ] @alex");
        assert_eq!(item.assignee, None);
        assert_eq!(
            item.hints,
            [
                "@alex matches 2 of your people: Alex Chen, Alex Moreau — write @alex.chen@partner.org"
            ]
        );
    }

    #[test]
    fn unknown_mention_is_unassigned_with_a_hint() {
        let item = one("- [ ] @zoe owns the launch");
        assert_eq!(item.assignee, None);
        assert_eq!(item.mention.as_deref(), Some("@zoe"));
        assert_eq!(
            item.hints,
            ["@zoe matches nobody in this meeting or your people"]
        );
    }

    #[test]
    fn unknown_email_mention_is_unassigned_with_a_hint() {
        let item = one("- [ ] @zoe@elsewhere.io");
        assert_eq!(item.assignee, None);
        assert_eq!(
            item.hints,
            ["@zoe@elsewhere.io matches nobody in this meeting or your people"]
        );
    }

    #[test]
    fn only_the_first_mention_is_the_assignee_and_mentions_stay_in_the_text() {
        let item = one("- [ ] @dana pairs with @priya");
        assert_eq!(item.assignee, Some(Uuid::from_u128(10)));
        assert_eq!(item.mention.as_deref(), Some("@dana"));
        assert_eq!(item.text, "@dana pairs with @priya");
    }

    #[test]
    fn an_unknown_first_mention_does_not_fall_through_to_the_second() {
        let item = one("- [ ] @zoe and @priya");
        assert_eq!(item.assignee, None);
        assert_eq!(item.mention.as_deref(), Some("@zoe"));
    }

    #[test]
    fn email_addresses_inside_words_are_not_mentions() {
        let item = one("- [ ] mail bob@acme.com the draft");
        assert_eq!(item.mention, None);
        assert_eq!(item.assignee, None);
        assert!(item.hints.is_empty());
    }

    #[test]
    fn lone_at_signs_are_not_mentions() {
        let item = one("- [ ] meet @ 5pm @ @@ @- then @dana");
        assert_eq!(item.mention.as_deref(), Some("@dana"));
        assert_eq!(one("- [ ] @").mention, None);
    }

    #[test]
    fn trailing_punctuation_is_not_part_of_the_mention() {
        let item = one("- [ ] Thanks (@priya), and @dana.");
        assert_eq!(item.mention.as_deref(), Some("@priya"));
        assert_eq!(item.assignee, Some(Uuid::from_u128(3)));
        assert_eq!(one("- [ ] ask @dana.").mention.as_deref(), Some("@dana"));
        assert_eq!(
            one("- [ ] ask @dana@partner.org.").assignee,
            Some(Uuid::from_u128(10))
        );
    }

    #[test]
    fn the_same_person_listed_twice_is_not_ambiguous() {
        let a = vec![
            person(1, "Sam Lee", "sam@acme.com"),
            person(1, "Sam Lee", "sam@acme.com"),
        ];
        let ctx = Context {
            meeting_date: d(2026, 3, 4),
            attendees: &a,
            known_people: &a,
        };
        let items = parse("- [ ] @sam", &ctx);
        assert_eq!(items[0].assignee, Some(Uuid::from_u128(1)));
        assert!(items[0].hints.is_empty());
    }

    #[test]
    fn people_with_empty_names_or_emails_never_match_by_accident() {
        let a = vec![person(1, "", ""), person(2, "  ", "nobody")];
        let ctx = Context {
            meeting_date: d(2026, 3, 4),
            attendees: &a,
            known_people: &[],
        };
        let items = parse("- [ ] @x", &ctx);
        assert_eq!(items[0].assignee, None);
        assert_eq!(items[0].hints.len(), 1);
    }

    #[test]
    fn questions_do_not_resolve_mentions() {
        let item = one("?? @sam can we ship?");
        assert_eq!(item.mention, None);
        assert!(item.hints.is_empty());
    }

    // --- due dates --------------------------------------------------------

    #[test]
    fn explicit_due_date_is_parsed_and_stripped_from_the_text() {
        let item = one("- [ ] Send deck due:2026-03-10 to legal");
        assert_eq!(item.due, Some(d(2026, 3, 10)));
        assert_eq!(item.text, "Send deck to legal");
        assert_eq!(one("- [ ] due:2026-03-10 Send deck").text, "Send deck");
        assert_eq!(one("- [ ] Send deck DUE:2026-3-9").due, Some(d(2026, 3, 9)));
    }

    #[test]
    fn due_date_followed_by_punctuation_keeps_the_punctuation() {
        let item = one("- [ ] Send deck due:2026-03-10, then relax");
        assert_eq!(item.due, Some(d(2026, 3, 10)));
        assert_eq!(item.text, "Send deck, then relax");
    }

    #[test]
    fn impossible_due_date_gives_no_due_date_and_a_hint() {
        let item = one("- [ ] File taxes due:2026-02-30");
        assert_eq!(item.due, None);
        assert_eq!(item.hints, ["due:2026-02-30 is not a real date"]);
        assert_eq!(item.text, "File taxes due:2026-02-30");
        assert_eq!(item.fingerprint, "file taxes");
    }

    #[test]
    fn invalid_due_value_does_not_fall_back_to_a_natural_phrase() {
        let item = one("- [ ] Report tomorrow due:2026-13-01");
        assert_eq!(item.due, None);
        assert_eq!(item.hints, ["due:2026-13-01 is not a real date"]);
    }

    #[test]
    fn garbage_due_values_give_a_hint() {
        let item = one("- [ ] Ship due:soon");
        assert_eq!(item.due, None);
        assert_eq!(
            item.hints,
            ["due:soon is not a date — write due:YYYY-MM-DD"]
        );
        for garbage in [
            "due:",
            "due:-",
            "due:2026--01",
            "due:99999-01-01",
            "due:２０２６-01-01",
            "due:é😀",
        ] {
            let item = one(&format!("- [ ] x {garbage}"));
            assert_eq!(item.due, None, "{garbage}");
            assert_eq!(item.hints.len(), 1, "{garbage}");
        }
    }

    #[test]
    fn only_the_first_due_word_counts() {
        let item = one("- [ ] x due:2026-03-10 due:2026-03-11");
        assert_eq!(item.due, Some(d(2026, 3, 10)));
        assert_eq!(item.text, "x due:2026-03-11");
        assert_eq!(
            item.hints,
            ["only the first due: date counts; due:2026-03-11 is ignored"]
        );
    }

    #[test]
    fn explicit_due_wins_over_a_natural_phrase() {
        let item = one("- [ ] Call tomorrow due:2026-03-20");
        assert_eq!(item.due, Some(d(2026, 3, 20)));
        assert_eq!(item.text, "Call tomorrow");
    }

    #[test]
    fn today_and_tomorrow_count_from_the_meeting_date() {
        assert_eq!(due_on("Report TODAY", d(2026, 3, 4)), Some(d(2026, 3, 4)));
        assert_eq!(
            due_on("Report tomorrow", d(2026, 3, 4)),
            Some(d(2026, 3, 5))
        );
        assert_eq!(
            due_on("Report tomorrow", d(2025, 12, 31)),
            Some(d(2026, 1, 1))
        );
    }

    #[test]
    fn by_friday_is_the_next_friday_after_the_meeting() {
        assert_eq!(due_on("Deck by Friday", d(2026, 3, 4)), Some(d(2026, 3, 6)));
        assert_eq!(due_on("Deck by fri.", d(2026, 3, 4)), Some(d(2026, 3, 6)));
    }

    #[test]
    fn by_friday_said_on_a_friday_means_a_week_later() {
        assert_eq!(
            due_on("Deck by friday", d(2026, 3, 6)),
            Some(d(2026, 3, 13))
        );
    }

    #[test]
    fn every_weekday_name_and_abbreviation_is_understood() {
        let wed = d(2026, 3, 4);
        let cases = [
            ("mon", 9),
            ("Monday", 9),
            ("tue", 10),
            ("tues", 10),
            ("tuesday", 10),
            ("wed", 11),
            ("weds", 11),
            ("wednesday", 11),
            ("thu", 5),
            ("thur", 5),
            ("thurs", 5),
            ("thursday", 5),
            ("fri", 6),
            ("sat", 7),
            ("saturday", 7),
            ("sun", 8),
            ("SUNDAY", 8),
        ];
        for (word, day) in cases {
            assert_eq!(
                due_on(&format!("x by {word}"), wed),
                Some(d(2026, 3, day)),
                "{word}"
            );
        }
    }

    #[test]
    fn by_weekday_crosses_month_and_year_boundaries() {
        let tue = d(2025, 12, 30);
        assert_eq!(due_on("x by wed", tue), Some(d(2025, 12, 31)));
        assert_eq!(due_on("x by mon", tue), Some(d(2026, 1, 5)));
        assert_eq!(due_on("x by tuesday", tue), Some(d(2026, 1, 6)));
        let fri = d(2026, 1, 30);
        assert_eq!(due_on("x by monday", fri), Some(d(2026, 2, 2)));
        assert_eq!(due_on("x by friday", fri), Some(d(2026, 2, 6)));
        assert_eq!(due_on("x by thu", d(2028, 2, 28)), Some(d(2028, 3, 2)));
    }

    #[test]
    fn next_week_is_monday_of_the_following_week() {
        assert_eq!(due_on("plan next week", d(2026, 3, 4)), Some(d(2026, 3, 9)));
        assert_eq!(
            due_on("plan next week", d(2026, 3, 9)),
            Some(d(2026, 3, 16))
        );
        assert_eq!(
            due_on("plan Next  Week", d(2026, 3, 8)),
            Some(d(2026, 3, 9))
        );
        assert_eq!(
            due_on("plan next week", d(2025, 12, 30)),
            Some(d(2026, 1, 5))
        );
    }

    #[test]
    fn end_of_week_is_friday_of_the_meeting_week() {
        assert_eq!(
            due_on("wrap up by end of week", d(2026, 3, 4)),
            Some(d(2026, 3, 6))
        );
        assert_eq!(
            due_on("wrap up end of the week", d(2026, 3, 2)),
            Some(d(2026, 3, 6))
        );
        assert_eq!(due_on("wrap up EOW", d(2026, 3, 6)), Some(d(2026, 3, 6)));
        assert_eq!(due_on("wrap up eow", d(2025, 12, 30)), Some(d(2026, 1, 2)));
    }

    #[test]
    fn end_of_week_on_a_weekend_is_the_meeting_date() {
        assert_eq!(due_on("wrap up eow", d(2026, 3, 7)), Some(d(2026, 3, 7)));
        assert_eq!(
            due_on("wrap up end of week", d(2026, 3, 8)),
            Some(d(2026, 3, 8))
        );
    }

    #[test]
    fn in_n_days_and_weeks_count_from_the_meeting() {
        assert_eq!(due_on("x in 3 days", d(2026, 3, 4)), Some(d(2026, 3, 7)));
        assert_eq!(due_on("x in 1 day", d(2028, 2, 28)), Some(d(2028, 2, 29)));
        assert_eq!(due_on("x in 2 days", d(2028, 2, 28)), Some(d(2028, 3, 1)));
        assert_eq!(due_on("x in 0 days", d(2026, 3, 4)), Some(d(2026, 3, 4)));
        assert_eq!(
            due_on("x in 2 weeks", d(2025, 12, 30)),
            Some(d(2026, 1, 13))
        );
        assert_eq!(due_on("x in a few days", d(2026, 3, 4)), None);
    }

    #[test]
    fn huge_day_counts_give_a_hint_instead_of_overflowing() {
        let item = one("- [ ] x in 99999999999999999999999 days");
        assert_eq!(item.due, None);
        assert_eq!(item.hints.len(), 1);
        let item = one("- [ ] x in 9999999999 days");
        assert_eq!(item.due, None);
        assert_eq!(item.hints.len(), 1);
        let items = parse_on(
            "- [ ] x tomorrow\n- [ ] y by mon\n- [ ] z next week",
            NaiveDate::MAX,
        );
        assert!(items.iter().all(|i| i.due.is_none() && i.hints.len() == 1));
    }

    #[test]
    fn by_an_iso_date_sets_that_date() {
        assert_eq!(
            due_on("x by 2026-04-01", d(2026, 3, 4)),
            Some(d(2026, 4, 1))
        );
        let item = one("- [ ] x by 2026-02-30");
        assert_eq!(item.due, None);
        assert_eq!(item.hints, ["by 2026-02-30 is not a real date"]);
        assert_eq!(due_on("x by then", d(2026, 3, 4)), None);
    }

    #[test]
    fn natural_phrases_stay_in_the_text() {
        let item = one("- [ ] Send deck by Friday");
        assert_eq!(item.text, "Send deck by Friday");
        assert_eq!(item.due, Some(d(2026, 3, 6)));
    }

    #[test]
    fn the_first_natural_phrase_wins() {
        assert_eq!(
            due_on("x tomorrow or by friday", d(2026, 3, 4)),
            Some(d(2026, 3, 5))
        );
        assert_eq!(
            due_on("x by friday or tomorrow", d(2026, 3, 4)),
            Some(d(2026, 3, 6))
        );
    }

    #[test]
    fn phrases_must_be_whole_words_separated_by_spaces() {
        let wed = d(2026, 3, 4);
        assert_eq!(due_on("x todays list", wed), None);
        assert_eq!(due_on("x nextweek", wed), None);
        assert_eq!(due_on("x by-friday", wed), None);
        assert_eq!(due_on("x byfriday", wed), None);
        assert_eq!(due_on("x stand by", wed), None);
        assert_eq!(due_on("x in 3", wed), None);
    }

    #[test]
    fn only_action_items_get_due_dates() {
        assert_eq!(one("?? done by friday?").due, None);
        assert_eq!(one("!d ship tomorrow").due, None);
    }

    // --- fingerprints and matching ---------------------------------------

    #[test]
    fn fingerprint_ignores_case_spacing_marker_due_and_done_state() {
        let items = parse_wed(
            "- [ ] Send   the DECK due:2026-03-10\n!! send the deck\n- [x] send the deck due:soon",
        );
        assert_eq!(items.len(), 3);
        assert!(items.iter().all(|i| i.fingerprint == "send the deck"));
        let q = parse_wed("?? Budget OK?\n- [x] ?? budget ok?");
        assert_eq!(q[0].fingerprint, q[1].fingerprint);
    }

    #[test]
    fn unchanged_items_match_themselves() {
        let items = parse_wed("- [ ] a\n!d b\n?? c\n- [ ] a");
        assert_eq!(
            match_items(&prev_of(&items), &items),
            [Some(0), Some(1), Some(2), Some(3)]
        );
    }

    #[test]
    fn match_items_keeps_identity_when_lines_are_reordered() {
        let old = parse_wed("- [ ] write agenda\n- [ ] book room\n!d go with plan B");
        let new = parse_wed("!d go with plan B\n\n- [x] book room\n- [ ] write agenda");
        assert_eq!(
            match_items(&prev_of(&old), &new),
            [Some(2), Some(1), Some(0)]
        );
    }

    #[test]
    fn match_items_keeps_identity_when_text_is_lightly_edited() {
        let old = parse_wed("- [ ] Send the deck to legal @sam\n- [ ] Book the offsite venue");
        let new = parse_wed(
            "- [ ] Book the off-site venue by friday\n- [ ] Send the revised deck to legal @sam.lee",
        );
        assert_eq!(match_items(&prev_of(&old), &new), [Some(1), Some(0)]);
    }

    #[test]
    fn heavily_rewritten_text_is_a_new_item() {
        let old = parse_wed("- [ ] Send the deck to legal");
        let new = parse_wed("- [ ] Organise the team dinner");
        assert_eq!(match_items(&prev_of(&old), &new), [None]);
    }

    #[test]
    fn duplicate_texts_match_the_nearest_line() {
        let old = parse_wed("- [ ] follow up\nx\nx\nx\nx\n- [ ] follow up");
        // The second copy moved up by one line, and a new copy appeared at the end.
        let new = parse_wed("x\nx\nx\nx\n- [ ] follow up\nx\nx\nx\n- [ ] follow up");
        assert_eq!(new.iter().map(|i| i.line).collect::<Vec<_>>(), [4, 8]);
        let m = match_items(&prev_of(&old), &new);
        assert_eq!(m, [Some(1), Some(0)]);
    }

    #[test]
    fn kinds_never_match_across() {
        let old = parse_wed("!d ship it");
        let new = parse_wed("- [ ] ship it");
        assert_eq!(match_items(&prev_of(&old), &new), [None]);
    }

    #[test]
    fn each_previous_item_continues_at_most_one_new_item() {
        let old = parse_wed("- [ ] review the budget");
        let new =
            parse_wed("- [ ] review the budget\n- [ ] review the budgets\n- [ ] review the budget");
        let m = match_items(&prev_of(&old), &new);
        assert_eq!(m, [Some(0), None, None]);
    }

    #[test]
    fn exact_matches_are_taken_before_similar_ones() {
        let old = parse_wed("- [ ] review the budgets\n- [ ] review the budget");
        let new = parse_wed("- [ ] review the budget");
        assert_eq!(match_items(&prev_of(&old), &new), [Some(1)]);
    }

    #[test]
    fn match_items_handles_empty_inputs() {
        let items = parse_wed("- [ ] a");
        assert_eq!(match_items(&[], &items), [None]);
        assert!(match_items(&prev_of(&items), &[]).is_empty());
    }

    #[test]
    fn very_short_fingerprints_only_match_exactly() {
        let p = [Previous {
            kind: Kind::ActionItem,
            line: 0,
            fingerprint: "a",
        }];
        let new = parse_wed("- [ ] b");
        assert_eq!(match_items(&p, &new), [None]);
    }

    #[test]
    fn many_identical_items_are_paired_in_line_order() {
        let note = "- [ ] same\n".repeat(400);
        let items = parse_wed(&note);
        let m = match_items(&prev_of(&items), &items);
        assert!(m.iter().enumerate().all(|(i, j)| *j == Some(i)));
    }

    #[test]
    fn a_2000_item_note_with_every_line_edited_matches_in_bounded_comparisons() {
        // Pseudo-random words, so each edited line has one clear predecessor.
        let word = |k: u64| -> String {
            (0..6u64)
                .map(|n| {
                    let mut x = (k * 6 + n + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    x ^= x >> 29;
                    char::from(b'a' + (x % 26) as u8)
                })
                .collect()
        };
        let line = |i: u64| {
            format!(
                "{} {} {} {}",
                word(4 * i),
                word(4 * i + 1),
                word(4 * i + 2),
                word(4 * i + 3)
            )
        };
        let old: String = (0..2000).map(|i| format!("- [ ] {}\n", line(i))).collect();
        let new: String = "# moved down a line\n".to_string()
            + &(0..2000)
                .map(|i| format!("- [ ] {} now\n", line(i)))
                .collect::<String>();
        let (old, new) = (parse_wed(&old), parse_wed(&new));
        let (m, comparisons) = match_counting(&prev_of(&old), &new);
        assert!(m.iter().enumerate().all(|(i, j)| *j == Some(i)));
        // All pairs would be 4,000,000 comparisons.
        assert!(
            comparisons <= 2000 * MAX_CANDIDATES,
            "{comparisons} comparisons"
        );
    }

    #[test]
    fn many_duplicates_pair_nearest_first_then_in_line_order() {
        let old = parse_wed(&"- [ ] same\n".repeat(50));
        // Every copy moved down by 30 lines: beyond the window, so paired in line order.
        let new = parse_wed(&("x\n".repeat(30) + &"- [ ] same\n".repeat(50)));
        let m = match_items(&prev_of(&old), &new);
        assert!(m.iter().all(Option::is_some));
        let mut used: Vec<usize> = m.iter().flatten().copied().collect();
        used.sort_unstable();
        used.dedup();
        assert_eq!(used.len(), 50);
    }

    // --- set_done ---------------------------------------------------------

    #[test]
    fn set_done_ticks_and_unticks_a_checkbox() {
        let note = "# Notes\n- [ ] a\n- [x] b\n";
        assert_eq!(
            set_done(note, 1, true).as_deref(),
            Some("# Notes\n- [x] a\n- [x] b\n")
        );
        assert_eq!(
            set_done(note, 2, false).as_deref(),
            Some("# Notes\n- [ ] a\n- [ ] b\n")
        );
        assert_eq!(set_done("* [X] b", 0, false).as_deref(), Some("* [ ] b"));
    }

    #[test]
    fn set_done_to_the_current_state_returns_the_note_unchanged() {
        for (note, done) in [
            ("- [ ] a", false),
            ("- [X] a", true),
            ("!! a", false),
            ("?? q", false),
        ] {
            assert_eq!(set_done(note, 0, done).as_deref(), Some(note));
        }
    }

    #[test]
    fn set_done_turns_double_bang_into_a_ticked_checkbox() {
        assert_eq!(
            set_done("!! call Bo", 0, true).as_deref(),
            Some("- [x] call Bo")
        );
        assert_eq!(
            set_done("  * !! call Bo", 0, true).as_deref(),
            Some("  * [x] call Bo")
        );
        assert_eq!(
            set_done("3. !! call Bo", 0, true).as_deref(),
            Some("3. [x] call Bo")
        );
        assert_eq!(
            set_done("- [ ] !! call Bo", 0, true).as_deref(),
            Some("- [x] !! call Bo")
        );
    }

    #[test]
    fn set_done_on_a_question_writes_a_ticked_checkbox() {
        assert_eq!(set_done("?? q", 0, true).as_deref(), Some("- [x] ?? q"));
        assert_eq!(
            set_done("\t- ?? q", 0, true).as_deref(),
            Some("\t- [x] ?? q")
        );
        assert_eq!(
            set_done("- [x] ?? q", 0, false).as_deref(),
            Some("- [ ] ?? q")
        );
    }

    #[test]
    fn set_done_round_trip_is_reflected_by_parse() {
        let note = "intro\r\n!! ship @dana by fri\r\n?? budget?\r\n- [ ] plain\r\n";
        let done = set_done(note, 1, true).unwrap();
        let done = set_done(&done, 2, true).unwrap();
        let done = set_done(&done, 3, true).unwrap();
        assert_eq!(
            done,
            "intro\r\n- [x] ship @dana by fri\r\n- [x] ?? budget?\r\n- [x] plain\r\n"
        );
        assert!(parse_wed(&done).iter().all(|i| i.done));
        let undone = set_done(&done, 1, false).unwrap();
        let undone = set_done(&undone, 2, false).unwrap();
        let undone = set_done(&undone, 3, false).unwrap();
        assert_eq!(
            undone,
            "intro\r\n- [ ] ship @dana by fri\r\n- [ ] ?? budget?\r\n- [ ] plain\r\n"
        );
        assert!(parse_wed(&undone).iter().all(|i| !i.done));
        assert_eq!(
            set_done(&undone, 1, true).unwrap(),
            "intro\r\n- [x] ship @dana by fri\r\n- [ ] ?? budget?\r\n- [ ] plain\r\n"
        );
        // Identity survives ticking.
        let before = parse_wed(note);
        let after = parse_wed(&done);
        assert_eq!(
            match_items(&prev_of(&before), &after),
            [Some(0), Some(1), Some(2)]
        );
    }

    #[test]
    fn set_done_preserves_line_endings_and_every_other_byte() {
        let note = "a  \r\n\r\n  - [ ]   spaced  text \r\nz\nno newline at end";
        let out = set_done(note, 2, true).unwrap();
        assert_eq!(
            out,
            "a  \r\n\r\n  - [x]   spaced  text \r\nz\nno newline at end"
        );
        let note = "- [ ] x\n";
        assert_eq!(set_done(note, 0, true).as_deref(), Some("- [x] x\n"));
    }

    #[test]
    fn set_done_keeps_unicode_intact() {
        let note = "日本語\n!! 😀 café\n";
        assert_eq!(
            set_done(note, 1, true).as_deref(),
            Some("日本語\n- [x] 😀 café\n")
        );
    }

    #[test]
    fn set_done_returns_none_when_the_line_is_not_an_action_item_or_question() {
        let note = "text\n!d decided\n!a answer\n```\n- [ ] code\n```\n- [ ]\n";
        for line in 0..10 {
            assert_eq!(set_done(note, line, true), None, "line {line}");
            assert_eq!(set_done(note, line, false), None, "line {line}");
        }
        assert_eq!(set_done("", 0, true), None);
    }

    #[test]
    fn unticking_a_question_answered_below_leaves_it_answered() {
        let note = "- [x] ?? q\n!a yes";
        let out = set_done(note, 0, false).unwrap();
        assert_eq!(out, "- [ ] ?? q\n!a yes");
        let items = parse_wed(&out);
        assert!(items[0].done);
        assert_eq!(items[0].answer.as_deref(), Some("yes"));
    }

    // --- robustness -------------------------------------------------------

    #[test]
    fn very_long_lines_parse_quickly() {
        let mut note = String::from("- [ ] ");
        for _ in 0..20_000 {
            note.push_str("@ @@x due by in 12 é😀 ");
        }
        note.push_str("due:2026-01-01");
        let items = parse_wed(&note);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].due, Some(d(2026, 1, 1)));
        assert!(set_done(&note, 0, true).is_some());
        let long_word = "a".repeat(200_000);
        let items = parse_wed(&format!("- [ ] @{long_word} by {long_word}"));
        assert_eq!(items[0].hints.len(), 1);
    }

    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            // xorshift64*
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    const FRAGMENTS: &[&str] = &[
        "- ",
        "* ",
        "+ ",
        "1. ",
        "12) ",
        "[ ] ",
        "[x] ",
        "[X] ",
        "[",
        "]",
        "!! ",
        "!!",
        "?? ",
        "??",
        "!d ",
        "!a ",
        "!A",
        "Decision:",
        "decision: ",
        "DECISION",
        "@",
        "@sam",
        "@sam.lee@acme.com",
        "@@",
        "@.",
        "@é",
        "@😀",
        "due:",
        "due:2026-02-30",
        "due:2026-03-01",
        "due:x",
        "due:-1-1-1",
        "by ",
        "fri",
        "friday",
        "next week",
        "eow",
        "end of week",
        "in ",
        "99999999999999999999",
        "3",
        " days",
        "today",
        "tomorrow",
        "2026-12-31",
        "```",
        "~~~",
        "````",
        "\n",
        "\r\n",
        "\r",
        "\n\n",
        " ",
        "  ",
        "\t",
        "é",
        "ß",
        "İ",
        "😀",
        "日本",
        "\u{301}",
        "\u{200b}",
        "\u{feff}",
        "\0",
        "—",
        "a",
        "word ",
        ".",
        ",",
        "(",
        ")",
    ];

    fn garbage(rng: &mut Rng) -> String {
        let mut s = String::new();
        for _ in 0..rng.below(40) {
            if rng.below(8) == 0 {
                // An arbitrary scalar value.
                let c = char::from_u32(rng.next() as u32 % 0x11_0000).unwrap_or('\u{fffd}');
                s.push(c);
            } else {
                s.push_str(FRAGMENTS[rng.below(FRAGMENTS.len())]);
            }
        }
        s
    }

    #[test]
    fn generated_garbage_never_panics_and_keeps_invariants() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let a = attendees();
        let k = known();
        for round in 0..1500 {
            let note = garbage(&mut rng);
            let date = if round % 50 == 0 {
                NaiveDate::MAX
            } else {
                d(2026, 3, 4)
            };
            let ctx = Context {
                meeting_date: date,
                attendees: &a,
                known_people: &k,
            };
            let items = parse(&note, &ctx);
            let line_count = note.split('\n').count();
            for item in &items {
                assert!(item.line < line_count);
                assert_eq!(item.text, item.text.trim());
                assert!(!item.fingerprint.contains("  "));
            }
            // Parsing the same note again gives the same result, and identity is kept.
            assert_eq!(parse(&note, &ctx), items);
            let m = match_items(&prev_of(&items), &items);
            assert!(m.iter().enumerate().all(|(i, j)| *j == Some(i)), "{note:?}");
            let lines: Vec<&str> = note.split('\n').collect();
            for line in 0..line_count + 2 {
                for done in [true, false] {
                    let Some(out) = set_done(&note, line, done) else {
                        continue;
                    };
                    let out_lines: Vec<&str> = out.split('\n').collect();
                    assert_eq!(out_lines.len(), lines.len(), "{note:?}");
                    for (n, (x, y)) in lines.iter().zip(&out_lines).enumerate() {
                        assert!(n == line || x == y, "{note:?} line {n} changed");
                    }
                    let item = parse(&out, &ctx)
                        .into_iter()
                        .find(|i| i.line == line)
                        .unwrap_or_else(|| panic!("no item after set_done on {note:?}"));
                    if done || item.kind == Kind::ActionItem {
                        assert_eq!(item.done, done, "{note:?} -> {out:?}");
                    }
                }
            }
            for item in &items {
                if item.kind == Kind::Decision {
                    assert_eq!(set_done(&note, item.line, true), None);
                } else {
                    assert!(set_done(&note, item.line, true).is_some(), "{note:?}");
                }
            }
            let other = parse(&garbage(&mut rng), &ctx);
            let m = match_items(&prev_of(&items), &other);
            assert_eq!(m.len(), other.len());
        }
    }

    #[test]
    fn display_text_leaves_out_the_assignee_mention_and_the_due_phrase() {
        let item = one("- [ ] @charles send the deck by Friday.");
        assert_eq!(item.text, "@charles send the deck by Friday.");
        assert_eq!(display_text(&item.text, true, true), "send the deck.");
        assert_eq!(
            display_text("ask @sam.lee@acme.com about pricing in 3 days", true, true),
            "ask about pricing"
        );
        assert_eq!(
            display_text("review the plan end of the week with @bob", true, true),
            "review the plan with"
        );
    }

    #[test]
    fn display_text_keeps_what_did_not_become_a_field() {
        // Unresolved mention, no due date: both stay.
        assert_eq!(
            display_text("@zoe send it by Friday", false, false),
            "@zoe send it by Friday"
        );
        assert_eq!(
            display_text("@zoe send it tomorrow", false, true),
            "@zoe send it"
        );
        // Only the first mention was the assignee.
        assert_eq!(display_text("@bob ask @carol", true, false), "ask @carol");
        // An invalid date phrase gave no due date and stays.
        assert_eq!(
            display_text("ship by 2026-02-30", false, true),
            "ship by 2026-02-30"
        );
        // Nothing but the fields: the text stays whole rather than empty.
        assert_eq!(display_text("@bob tomorrow", true, true), "@bob tomorrow");
    }
}
