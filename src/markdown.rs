//! Rendering user and provider text as safe HTML: Markdown through pulldown-cmark, then always
//! through ammonia (pulldown-cmark passes raw HTML through; ammonia removes scripts, event
//! handlers, `javascript:`/`data:` URLs and mXSS tricks).

use ammonia::Builder;
use pulldown_cmark::{Options, Parser, html};

fn sanitizer() -> Builder<'static> {
    let mut builder = Builder::default();
    builder
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_schemes(["http", "https", "mailto", "tel"].into_iter().collect())
        // Images in notes or invitations would load from anywhere (tracking pixels): links only.
        .rm_tags(["img"]);
    builder
}

/// A note's Markdown as sanitised HTML.
pub fn render(markdown: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TASKLISTS);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_TABLES);
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, Parser::new_ext(markdown, options));
    sanitizer().clean(&unsafe_html).to_string()
}

/// A provider's event description (HTML from Google and Outlook, or plain text) as sanitised HTML.
pub fn description(text: &str) -> String {
    if text.contains('<') {
        sanitizer().clean(text).to_string()
    } else {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\n', "<br>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_renders_and_scripts_do_not() {
        let html = render("**bold** <script>alert(1)</script> <img src=x onerror=alert(1)>");
        assert!(html.contains("<strong>bold</strong>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("onerror"));
    }

    #[test]
    fn dangerous_links_are_neutralised() {
        for evil in [
            "[x](javascript:alert(1))",
            "[x](data:text/html,<script>alert(1)</script>)",
            "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
            "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
            "<math><annotation-xml encoding=\"text/html\"><img src=x onerror=alert(1)></annotation-xml></math>",
        ] {
            let html = render(evil);
            let lower = html.to_ascii_lowercase();
            assert!(!lower.contains("javascript:"), "{evil} → {html}");
            assert!(!lower.contains("data:text"), "{evil} → {html}");
            assert!(
                !lower.contains("onerror") && !lower.contains("onbegin"),
                "{evil} → {html}"
            );
            assert!(
                !lower.contains("<svg") && !lower.contains("<math"),
                "{evil} → {html}"
            );
        }
    }

    #[test]
    fn links_get_safe_rel() {
        let html = render("[docs](https://example.com)");
        assert!(
            html.contains("rel=\"noopener noreferrer nofollow\""),
            "{html}"
        );
    }

    #[test]
    fn plain_descriptions_keep_line_breaks_and_escape_markup_free_text() {
        assert_eq!(description("a & b\nc"), "a &amp; b<br>c");
        assert!(!description("<p onclick=x>hi</p>").contains("onclick"));
    }
}
