//! Reading an uploaded zip archive without trusting it: every check that can refuse the archive
//! runs before the import writes anything, and no size the archive declares is believed.
//!
//! Refused outright (one clear message naming the entry; nothing is imported):
//! not a zip; more entries than the limit; a declared or an actual uncompressed size over the
//! limit; a path that could leave the folder it is unpacked in (`..`, absolute, a drive letter,
//! a backslash); a symbolic link; an encrypted entry; two entries with one name; a note that is
//! larger than a note can be, or that is not UTF-8 text, or that cannot be decompressed. A user
//! whose archive holds one such file fixes it and imports again, rather than getting an import
//! with holes they might not notice; the checks are the same for every entry, so the answer does
//! not depend on where in the archive the file sits.
//!
//! Not refused: files that are not Markdown (attachments, images) are listed as skipped without
//! being decompressed; editor and system files (`.obsidian/`, `__MACOSX/`, any name starting
//! with a dot) and folders are ignored.
//!
//! Everything here is synchronous and pure over any `Read + Seek`: the upload handler runs it on
//! a blocking thread, the unit tests on bytes in memory.

use std::{
    collections::HashSet,
    io::{self, Read, Seek, SeekFrom},
    ops::ControlFlow,
};

use chrono::NaiveDate;
use zip::{ZipArchive, result::ZipError};

use super::manifest::Manifest;

/// What an archive may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_entries: usize,
    /// Uncompressed bytes of all entries, declared and actually read.
    pub max_total_bytes: u64,
    /// One note's file (front matter included): the largest note Docket keeps.
    pub max_note_bytes: u64,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        max_entries: 100_000,
        max_total_bytes: 1024 * 1024 * 1024,
        max_note_bytes: crate::http::MAX_BODY_BYTES as u64,
    };
}

/// The manifest of a Docket export, at the archive's root.
pub const MANIFEST: &str = "docket.json";

/// One file of the archive, as the import takes it.
#[derive(Debug, PartialEq)]
pub enum Entry {
    /// A Markdown note, read whole and decoded.
    Note {
        path: String,
        text: String,
        /// The entry's modification date (zip entries carry a local date and time).
        modified: Option<NaiveDate>,
    },
    /// A file the import does not take, and why.
    Skipped { path: String, reason: String },
}

/// Why an archive is refused; the message is shown to the user as it is.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("This file is not a zip archive, or it is damaged ({0}). Choose a .zip file.")]
    NotAZip(String),
    #[error("The archive has more than {0} entries: Docket imports at most that many.")]
    TooManyEntries(usize),
    #[error(
        "The archive would unpack to more than {} MiB: Docket imports at most that much.",
        .0 / (1024 * 1024)
    )]
    TooLarge(u64),
    #[error("{path:?} is larger than {} KiB, the longest note Docket keeps.", .limit / 1024)]
    NoteTooLarge { path: String, limit: u64 },
    #[error("{0:?} has a path that leads outside the archive's folder; nothing was imported.")]
    UnsafePath(String),
    #[error("{0:?} is a symbolic link; Docket imports only plain files.")]
    Symlink(String),
    #[error("{0:?} is encrypted; export the notes without a password and try again.")]
    Encrypted(String),
    #[error("Two entries of the archive have the same name (or its directory is damaged).")]
    DuplicateNames,
    #[error("{0:?} is not UTF-8 text; save it as UTF-8 and try again.")]
    NotUtf8(String),
    /// PostgreSQL text cannot hold NUL, and no text note has one.
    #[error("{0:?} holds NUL characters: it is not a text note.")]
    NotText(String),
    #[error("{path:?} cannot be unpacked ({reason}).")]
    Unreadable { path: String, reason: String },
    #[error("docket.json says it is format {0}; this Docket reads format 1. Update Docket first.")]
    NewerFormat(u64),
    /// The consumer of the entries went away (the upload was abandoned).
    #[error("The import was interrupted.")]
    Interrupted,
}

/// What the archive holds besides its entries.
#[derive(Debug, Default)]
pub struct Contents {
    /// `docket.json`, when the archive has a readable one.
    pub manifest: Option<Manifest>,
}

/// The central directory header's signature: every entry of a zip has exactly one.
const CENTRAL_HEADER: &[u8] = b"PK\x01\x02";

/// Reads and checks the archive, handing every entry to `each` in archive order (`Break` stops
/// with [`Refusal::Interrupted`]). `each` may have been called for some entries when a later
/// one refuses the archive: callers write nothing until this returns `Ok`.
pub fn read<R: Read + Seek>(
    mut reader: R,
    limits: &Limits,
    mut each: impl FnMut(Entry) -> ControlFlow<()>,
) -> Result<Contents, Refusal> {
    // The zip reader keeps every entry of the central directory in memory: bound their number
    // before it reads them. Each entry starts with the signature, so its occurrences in the
    // file bound the entries from above.
    let headers = central_header_offsets(&mut reader, limits.max_entries + 1)
        .map_err(|e| Refusal::NotAZip(e.to_string()))?;
    if headers.len() > limits.max_entries {
        return Err(Refusal::TooManyEntries(limits.max_entries));
    }
    reader
        .seek(SeekFrom::Start(0))
        .map_err(|e| Refusal::NotAZip(e.to_string()))?;
    let mut archive = ZipArchive::new(reader).map_err(|e| Refusal::NotAZip(e.to_string()))?;
    // The reader keeps one entry per name (the last): more headers in its directory than
    // entries means two shared a name.
    let directory = archive.central_directory_start();
    if headers.iter().filter(|&&at| at >= directory).count() != archive.len() {
        return Err(Refusal::DuplicateNames);
    }

    // Every entry's name and declared size first, before anything is decompressed.
    let mut entries = Vec::with_capacity(archive.len());
    let mut names = HashSet::with_capacity(archive.len());
    let mut declared: u64 = 0;
    for index in 0..archive.len() {
        let file = archive
            .by_index_raw(index)
            .map_err(|e| Refusal::NotAZip(e.to_string()))?;
        let path = file.name().to_owned();
        if !is_safe_path(&path) || file.enclosed_name().is_none() {
            return Err(Refusal::UnsafePath(path));
        }
        if file.is_symlink() {
            return Err(Refusal::Symlink(path));
        }
        if file.encrypted() {
            return Err(Refusal::Encrypted(path));
        }
        if !names.insert(path.clone()) {
            return Err(Refusal::DuplicateNames);
        }
        declared = declared.saturating_add(file.size());
        if declared > limits.max_total_bytes {
            return Err(Refusal::TooLarge(limits.max_total_bytes));
        }
        // 1980-01-01, the format's first day, is what tools write when they know no date.
        let modified = file
            .last_modified()
            .and_then(|m| {
                NaiveDate::from_ymd_opt(m.year().into(), m.month().into(), m.day().into())
            })
            .filter(|day| *day > NaiveDate::from_ymd_opt(1980, 1, 1).expect("a valid date"));
        entries.push((index, path, file.is_dir(), file.size(), modified));
    }

    let mut contents = Contents::default();
    let mut read_so_far: u64 = 0;
    for (index, path, is_dir, declared_size, modified) in entries {
        if is_dir || is_ignored(&path) {
            continue;
        }
        let entry = if path == MANIFEST {
            let remaining = limits.max_total_bytes - read_so_far;
            let file = archive.by_index(index).map_err(|e| unreadable(&path, e))?;
            let mut counted = Counted::new(file.take(remaining + 1));
            let parsed = Manifest::from_reader(&mut counted);
            read_so_far += counted.bytes;
            if counted.bytes > remaining {
                return Err(Refusal::TooLarge(limits.max_total_bytes));
            }
            match parsed {
                Ok(manifest) if manifest.format_version > 1 => {
                    return Err(Refusal::NewerFormat(manifest.format_version));
                }
                Ok(manifest) => {
                    contents.manifest = Some(manifest);
                    continue;
                }
                Err(e) => Entry::Skipped {
                    path,
                    reason: format!(
                        "cannot be read ({e}): due dates and assignees set on the action-items \
                         page are not restored"
                    ),
                },
            }
        } else if is_markdown(&path) {
            if declared_size > limits.max_note_bytes {
                return Err(Refusal::NoteTooLarge {
                    path,
                    limit: limits.max_note_bytes,
                });
            }
            let file = archive.by_index(index).map_err(|e| unreadable(&path, e))?;
            // Never trust the declared size: read one byte past the limit at most.
            let mut bytes = Vec::new();
            file.take(limits.max_note_bytes + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| unreadable(&path, ZipError::Io(e)))?;
            let length = bytes.len() as u64;
            if length > limits.max_note_bytes {
                return Err(Refusal::NoteTooLarge {
                    path,
                    limit: limits.max_note_bytes,
                });
            }
            read_so_far += length;
            if read_so_far > limits.max_total_bytes {
                return Err(Refusal::TooLarge(limits.max_total_bytes));
            }
            let Ok(mut text) = String::from_utf8(bytes) else {
                return Err(Refusal::NotUtf8(path));
            };
            if text.contains('\0') {
                return Err(Refusal::NotText(path));
            }
            // A byte-order mark (Windows editors write one) is not part of the note.
            if text.starts_with('\u{feff}') {
                text.drain(..'\u{feff}'.len_utf8());
            }
            Entry::Note {
                path,
                text,
                modified,
            }
        } else {
            Entry::Skipped {
                path,
                reason: "not a Markdown note (.md)".into(),
            }
        };
        if each(entry).is_break() {
            return Err(Refusal::Interrupted);
        }
    }
    Ok(contents)
}

fn unreadable(path: &str, error: ZipError) -> Refusal {
    let reason = match error {
        ZipError::CompressionMethodNotSupported(_) | ZipError::UnsupportedArchive(_) => {
            "it is compressed with a method Docket cannot read; use Deflate".to_owned()
        }
        other => other.to_string(),
    };
    Refusal::Unreadable {
        path: path.to_owned(),
        reason,
    }
}

/// A path that stays inside the folder the archive is unpacked in, on every system: relative,
/// `/`-separated, no `..`, no drive letter, no NUL.
fn is_safe_path(path: &str) -> bool {
    let drive = matches!(path.as_bytes(), [letter, b':', ..] if letter.is_ascii_alphabetic());
    !path.is_empty()
        && !drive
        && !path.starts_with('/')
        && !path.contains(['\\', '\0'])
        && !path.split('/').any(|part| part == "..")
}

/// Editor and system files that are not notes: `.obsidian/`, `.trash/`, `.DS_Store`,
/// `__MACOSX/` (resource forks macOS adds to zips).
fn is_ignored(path: &str) -> bool {
    path.split('/')
        .any(|part| part.starts_with('.') || part == "__MACOSX")
}

fn is_markdown(path: &str) -> bool {
    path.len() > 3
        && path.is_char_boundary(path.len() - 3)
        && path[path.len() - 3..].eq_ignore_ascii_case(".md")
}

/// Offsets of the central directory signature in the whole file, at most `limit` of them.
fn central_header_offsets<R: Read + Seek>(reader: &mut R, limit: usize) -> io::Result<Vec<u64>> {
    reader.seek(SeekFrom::Start(0))?;
    let finder = memchr::memmem::Finder::new(CENTRAL_HEADER);
    let keep = CENTRAL_HEADER.len() - 1;
    let mut buffer = vec![0u8; 64 * 1024];
    // `carried` bytes at the start of the buffer are the previous chunk's tail, so a signature
    // across two chunks is found once.
    let (mut carried, mut consumed) = (0usize, 0u64);
    let mut offsets = Vec::new();
    loop {
        let n = reader.read(&mut buffer[carried..])?;
        if n == 0 {
            return Ok(offsets);
        }
        let filled = carried + n;
        let start = consumed - carried as u64;
        for at in finder.find_iter(&buffer[..filled]) {
            offsets.push(start + at as u64);
            if offsets.len() >= limit {
                return Ok(offsets);
            }
        }
        consumed += n as u64;
        carried = keep.min(filled);
        buffer.copy_within(filled - carried..filled, 0);
    }
}

/// A reader that counts what went through it.
struct Counted<R> {
    inner: R,
    bytes: u64,
}

impl<R> Counted<R> {
    fn new(inner: R) -> Self {
        Counted { inner, bytes: 0 }
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::{Cursor, Write};

    use zip::{CompressionMethod, DateTime, ZipWriter, write::SimpleFileOptions};

    use super::*;

    /// A zip of `(name, bytes)` files, deflated.
    pub(crate) fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .last_modified_time(DateTime::from_date_and_time(2026, 3, 4, 9, 30, 0).unwrap());
        for (name, bytes) in files {
            writer.start_file(*name, options).unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    fn small() -> Limits {
        Limits {
            max_entries: 10,
            max_total_bytes: 10_000,
            max_note_bytes: 1_000,
        }
    }

    fn read_all(bytes: &[u8], limits: &Limits) -> Result<(Vec<Entry>, Contents), Refusal> {
        let mut entries = Vec::new();
        let contents = read(Cursor::new(bytes), limits, |entry| {
            entries.push(entry);
            ControlFlow::Continue(())
        })?;
        Ok((entries, contents))
    }

    /// Rewrites the uncompressed size of every entry, in its local and its central header.
    pub(crate) fn lie_about_sizes(zip: &mut [u8], size: u32) {
        for (signature, field) in [(b"PK\x03\x04", 22), (b"PK\x01\x02", 24)] {
            let offsets: Vec<usize> = memchr::memmem::find_iter(zip, signature).collect();
            for at in offsets {
                zip[at + field..at + field + 4].copy_from_slice(&size.to_le_bytes());
            }
        }
    }

    #[test]
    fn notes_are_read_and_other_files_skipped_or_ignored() {
        let zip = zip_of(&[
            (
                "Meetings/2026-11-30 0930 Sync.md",
                b"---\ntitle: Sync\n---\nhello",
            ),
            ("Notes/Idea.MD", "\u{feff}caf\u{e9}".as_bytes()),
            ("attachments/photo.png", b"\x89PNG"),
            (".obsidian/workspace.json", b"{}"),
            ("__MACOSX/Notes/._Idea.MD", b"\x00\x05"),
            ("Notes/.hidden.md", b"secret"),
        ]);
        let (entries, contents) = read_all(&zip, &small()).unwrap();
        assert!(contents.manifest.is_none());
        assert_eq!(entries.len(), 3);
        let Entry::Note {
            path,
            text,
            modified,
        } = &entries[0]
        else {
            panic!("{entries:?}")
        };
        assert_eq!(path, "Meetings/2026-11-30 0930 Sync.md");
        assert_eq!(text, "---\ntitle: Sync\n---\nhello");
        assert_eq!(*modified, NaiveDate::from_ymd_opt(2026, 3, 4));
        // The byte-order mark is dropped.
        assert!(matches!(&entries[1], Entry::Note { text, .. } if text == "café"));
        assert_eq!(
            entries[2],
            Entry::Skipped {
                path: "attachments/photo.png".into(),
                reason: "not a Markdown note (.md)".into()
            }
        );
    }

    #[test]
    fn bytes_that_are_not_a_zip_are_refused() {
        for bytes in [
            &b""[..],
            b"hello world",
            b"PK\x03\x04 truncated",
            &[0u8; 5000],
        ] {
            assert!(
                matches!(read_all(bytes, &small()), Err(Refusal::NotAZip(_))),
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn too_many_entries_are_refused_before_the_directory_is_read() {
        let names: Vec<String> = (0..11).map(|i| format!("n{i}.md")).collect();
        let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
        assert_eq!(
            read_all(&zip_of(&files), &small()).unwrap_err(),
            Refusal::TooManyEntries(10)
        );
        assert!(read_all(&zip_of(&files[..10]), &small()).is_ok());
    }

    #[test]
    fn a_declared_size_over_the_total_is_refused_before_anything_is_unpacked() {
        let mut zip = zip_of(&[("a.md", b"x"), ("b.png", b"y")]);
        lie_about_sizes(&mut zip, 6_000);
        let err = read_all(&zip, &small()).unwrap_err();
        assert_eq!(err, Refusal::TooLarge(10_000));
        assert!(err.to_string().contains("would unpack to more than"));
    }

    #[test]
    fn a_note_declared_larger_than_a_note_is_refused() {
        let big = vec![b'a'; 1_001];
        let err = read_all(&zip_of(&[("big.md", &big)]), &small()).unwrap_err();
        assert_eq!(
            err,
            Refusal::NoteTooLarge {
                path: "big.md".into(),
                limit: 1_000
            }
        );
        // At the limit exactly, it is read.
        assert!(read_all(&zip_of(&[("ok.md", &big[..1_000])]), &small()).is_ok());
    }

    #[test]
    fn a_note_whose_header_lies_about_its_size_is_cut_at_the_limit_and_refused() {
        // 50 kB of zeros deflate to a few dozen bytes; the headers say 10.
        let zeros = vec![0u8; 50_000];
        let mut zip = zip_of(&[("bomb.md", &zeros)]);
        assert!(zip.len() < 1_000);
        lie_about_sizes(&mut zip, 10);
        let limits = Limits {
            max_total_bytes: 1_000_000,
            ..small()
        };
        let err = read_all(&zip, &limits).unwrap_err();
        assert!(
            matches!(&err, Refusal::NoteTooLarge { path, .. } if path == "bomb.md")
                // The reader may also stop at the declared size and fail the checksum.
                || matches!(&err, Refusal::Unreadable { path, .. } if path == "bomb.md"),
            "{err:?}"
        );
    }

    #[test]
    fn the_actual_total_is_bounded_even_when_every_header_lies() {
        let zeros = vec![b' '; 900];
        let names: Vec<String> = (0..8).map(|i| format!("n{i}.md")).collect();
        let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &zeros[..])).collect();
        let limits = Limits {
            max_total_bytes: 5_000,
            ..small()
        };
        let mut zip = zip_of(&files);
        lie_about_sizes(&mut zip, 1);
        let err = read_all(&zip, &limits).unwrap_err();
        assert!(
            matches!(err, Refusal::TooLarge(5_000) | Refusal::Unreadable { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn paths_that_leave_the_folder_are_refused() {
        for name in [
            "../x.md",
            "Notes/../../x.md",
            "/abs.md",
            "C:/Windows/x.md",
            "c:x.md",
            "Notes\\..\\..\\x.md",
            "a\0b.md",
        ] {
            let zip = zip_of(&[("fine.md", b"ok"), (name, b"x")]);
            assert_eq!(
                read_all(&zip, &small()).unwrap_err(),
                Refusal::UnsafePath(name.into()),
                "{name:?}"
            );
        }
    }

    #[test]
    fn symbolic_links_and_encrypted_entries_are_refused() {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        writer
            .add_symlink("link.md", "/etc/passwd", SimpleFileOptions::default())
            .unwrap();
        let zip = writer.finish().unwrap().into_inner();
        assert_eq!(
            read_all(&zip, &small()).unwrap_err(),
            Refusal::Symlink("link.md".into())
        );

        // Set the "encrypted" flag (bit 0 of the general purpose flags) in both headers.
        let mut zip = zip_of(&[("secret.md", b"x")]);
        for (signature, field) in [(b"PK\x03\x04", 6), (b"PK\x01\x02", 8)] {
            let at = memchr::memmem::find(&zip, signature).unwrap();
            zip[at + field] |= 1;
        }
        assert_eq!(
            read_all(&zip, &small()).unwrap_err(),
            Refusal::Encrypted("secret.md".into())
        );
    }

    #[test]
    fn two_entries_with_one_name_are_refused() {
        // The writer refuses duplicates: write two names of one length, then rename one.
        let mut zip = zip_of(&[("a.md", b"first"), ("b.md", b"second")]);
        let positions: Vec<usize> = memchr::memmem::find_iter(&zip, b"b.md").collect();
        for at in positions {
            zip[at] = b'a';
        }
        assert_eq!(
            read_all(&zip, &small()).unwrap_err(),
            Refusal::DuplicateNames
        );
    }

    #[test]
    fn a_note_that_is_not_utf8_is_refused_by_name() {
        let zip = zip_of(&[("ok.md", b"fine"), ("latin1.md", b"caf\xe9")]);
        let err = read_all(&zip, &small()).unwrap_err();
        assert_eq!(err, Refusal::NotUtf8("latin1.md".into()));
        assert!(err.to_string().contains("not UTF-8"));
    }

    #[test]
    fn a_note_holding_nul_characters_is_not_text() {
        let zip = zip_of(&[("binary.md", b"text\0more")]);
        assert_eq!(
            read_all(&zip, &small()).unwrap_err(),
            Refusal::NotText("binary.md".into())
        );
    }

    #[test]
    fn the_manifest_is_read_and_a_newer_format_refused() {
        let manifest = br#"{"format_version": 1, "exported_at": "2026-11-30T10:00:00Z",
            "user": {"email": "a@b.example"}, "notes": [{"id": "x", "body": "long text"}],
            "items": []}"#;
        let (entries, contents) =
            read_all(&zip_of(&[(MANIFEST, manifest), ("n.md", b"x")]), &small()).unwrap();
        assert_eq!(contents.manifest.unwrap().format_version, 1);
        assert_eq!(entries.len(), 1);

        let newer = br#"{"format_version": 2}"#;
        assert_eq!(
            read_all(&zip_of(&[(MANIFEST, newer)]), &small()).unwrap_err(),
            Refusal::NewerFormat(2)
        );
        // A broken manifest costs only what it would restore.
        let (entries, contents) = read_all(&zip_of(&[(MANIFEST, b"{not json")]), &small()).unwrap();
        assert!(contents.manifest.is_none());
        assert!(
            matches!(&entries[0], Entry::Skipped { path, reason } if path == MANIFEST && reason.contains("not restored"))
        );
        // A manifest in a folder is just a file.
        let (entries, _) = read_all(&zip_of(&[("sub/docket.json", manifest)]), &small()).unwrap();
        assert!(matches!(&entries[0], Entry::Skipped { .. }));
    }

    #[test]
    fn a_consumer_that_stops_interrupts_the_reading() {
        let zip = zip_of(&[("a.md", b"1"), ("b.md", b"2")]);
        let mut seen = 0;
        let result = read(Cursor::new(&zip), &small(), |_| {
            seen += 1;
            ControlFlow::Break(())
        });
        assert_eq!(result.unwrap_err(), Refusal::Interrupted);
        assert_eq!(seen, 1);
    }

    #[test]
    fn central_headers_are_found_across_chunk_boundaries() {
        let mut bytes = vec![0u8; 64 * 1024 - 2];
        bytes.extend_from_slice(CENTRAL_HEADER);
        bytes.extend_from_slice(&[0; 10]);
        bytes.extend_from_slice(CENTRAL_HEADER);
        let offsets = central_header_offsets(&mut Cursor::new(&bytes), 10).unwrap();
        assert_eq!(offsets, [64 * 1024 - 2, 64 * 1024 + 12]);
        assert_eq!(
            central_header_offsets(&mut Cursor::new(&bytes), 1).unwrap(),
            [64 * 1024 - 2]
        );
    }
}
