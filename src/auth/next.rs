//! Where to go after sign-in: only ever a path on this site.

/// Returns `target` if it is a plain local path (`/meetings/…`), else `None`.
///
/// Refused: absolute URLs, scheme-relative `//host`, backslash tricks browsers normalise to
/// `//host` (`/\host`), anything with a scheme (`javascript:`), control characters, and the
/// sign-in routes themselves (no loops).
pub fn local_path(target: &str) -> Option<&str> {
    let ok = target.starts_with('/')
        && !target.starts_with("//")
        && !target.contains('\\')
        && !target.chars().any(|c| c.is_control() || c.is_whitespace())
        && !target.starts_with("/auth/")
        && target.len() <= 2048;
    ok.then_some(target)
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn local_paths_are_kept() {
        assert_eq!(
            local_path("/meetings/42?tab=notes"),
            Some("/meetings/42?tab=notes")
        );
        assert_eq!(local_path("/"), Some("/"));
    }

    #[test]
    fn off_site_targets_are_refused() {
        for evil in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "https:evil.example",
            "%2F%2Fevil.example",
            "javascript:alert(1)",
            "/\t/evil.example",
            "",
            "/auth/google/login",
        ] {
            assert_eq!(local_path(evil), None, "{evil}");
        }
    }
}
