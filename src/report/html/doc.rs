//! A rule's documentation (its `///` comment, CommonMark) as HTML, by pulldown-cmark.
//!
//! The documentation is our own text, yet nothing in it is passed through as HTML:
//! raw HTML (a block or inline) is shown as text, escaped; images (which would fetch
//! something, and the report is self-contained) are reduced to their alt text; a link
//! whose target is not `http(s)://`, `mailto:` or an anchor in the page keeps its text
//! and loses the link. Headings move down two levels (`## What it checks` is an `<h4>`),
//! below the report's own `<h2>` per rule and `<h3>` per table.

use pulldown_cmark::{html, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// `doc` as an HTML fragment, safe to write raw into the report.
pub fn to_html(doc: &str) -> String {
    let mut in_dropped_link = false;
    let events = Parser::new_ext(doc, Options::ENABLE_STRIKETHROUGH).filter_map(move |e| {
        Some(match e {
            Event::Html(text) | Event::InlineHtml(text) => Event::Text(text),
            Event::Start(Tag::HtmlBlock) => Event::Start(Tag::Paragraph),
            Event::End(TagEnd::HtmlBlock) => Event::End(TagEnd::Paragraph),
            Event::Start(Tag::Heading {
                level,
                id,
                classes,
                attrs,
            }) => Event::Start(Tag::Heading {
                level: lower(level),
                id,
                classes,
                attrs,
            }),
            Event::End(TagEnd::Heading(level)) => Event::End(TagEnd::Heading(lower(level))),
            Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => return None,
            Event::Start(Tag::Link { ref dest_url, .. }) if !safe_link(dest_url) => {
                in_dropped_link = true;
                return None;
            }
            Event::End(TagEnd::Link) if in_dropped_link => {
                in_dropped_link = false;
                return None;
            }
            other => other,
        })
    });
    let mut out = String::with_capacity(doc.len() * 5 / 4);
    html::push_html(&mut out, events);
    out
}

/// Two levels down, at most `<h6>`.
fn lower(level: HeadingLevel) -> HeadingLevel {
    HeadingLevel::try_from((level as usize + 2).min(6)).unwrap_or(HeadingLevel::H6)
}

fn safe_link(url: &CowStr<'_>) -> bool {
    ["https://", "http://", "mailto:", "#"]
        .iter()
        .any(|p| url.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules;

    #[test]
    fn markdown_renders() {
        let html = to_html(
            " ## What\n Para **one**\n *two* `a<b`.\n - item `a`\n   continued\n - item b\n\n Tail",
        );
        assert_eq!(
            html,
            "<h4>What</h4>\n<p>Para <strong>one</strong>\n<em>two</em> <code>a&lt;b</code>.</p>\n\
             <ul>\n<li>item <code>a</code>\ncontinued</li>\n<li>item b</li>\n</ul>\n<p>Tail</p>\n"
        );
    }

    #[test]
    fn raw_html_images_and_odd_links_are_not_passed_through() {
        let html = to_html(
            "<script>alert(1)</script>\n\ntext <b onclick=x>b</b> ![alt](http://example.com/x.png) \
             [bad](javascript:alert(1)) [good](https://docs.aws.amazon.com/) [here](#rule-x)",
        );
        assert!(
            !html.contains("<script") && !html.contains("<b ") && !html.contains("<img"),
            "{html}"
        );
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(html.contains("&lt;b onclick=x&gt;b&lt;/b&gt;"), "{html}");
        assert!(
            html.contains(" alt ") && !html.contains("javascript"),
            "{html}"
        );
        assert!(
            html.contains("<a href=\"https://docs.aws.amazon.com/\">good</a>"),
            "{html}"
        );
        assert!(html.contains("<a href=\"#rule-x\">here</a>"), "{html}");
    }

    /// Every rule's documentation: no Markdown left as written (`**`, `*x*`, a backtick,
    /// `## `), no raw HTML, and the headings and emphasis it writes are rendered.
    #[test]
    fn every_rule_doc_renders_without_raw_markdown() {
        let mut strong = 0;
        for r in rules::RULES {
            let m = r.meta();
            let html = to_html(m.doc);
            let text = strip_tags(&html);
            assert!(!text.contains("**"), "{}: {text}", m.name);
            assert!(!text.contains('`'), "{}: {text}", m.name);
            assert!(!text.contains("## "), "{}: {text}", m.name);
            // `*x*`: an asterisk right before a word character (a wildcard such as
            // `s3:*` or `"*"` sits in code and is not emphasis).
            let bytes = text.as_bytes();
            for (i, _) in text.match_indices('*') {
                let next = bytes.get(i + 1).copied().unwrap_or(b' ');
                let prev = if i == 0 { b' ' } else { bytes[i - 1] };
                assert!(
                    !(next.is_ascii_alphanumeric() && (prev == b' ' || prev == b'\n')),
                    "{}: raw emphasis near {:?}",
                    m.name,
                    &text[i.saturating_sub(20)..(i + 20).min(text.len())]
                );
            }
            assert!(html.contains("<h4>"), "{}: {html}", m.name);
            assert_eq!(
                html.matches("<h4>").count(),
                m.doc
                    .lines()
                    .filter(|l| l.trim_start().starts_with("## "))
                    .count(),
                "{}",
                m.name
            );
            strong += html.matches("<strong>").count();
            let raw_bold = m.doc.matches("**").count() / 2;
            assert_eq!(html.matches("<strong>").count(), raw_bold, "{}", m.name);
        }
        assert!(
            strong > 0,
            "no rule doc uses bold any more: the test checks nothing"
        );
    }

    /// The text between tags, entities left as they are.
    fn strip_tags(html: &str) -> String {
        let mut out = String::new();
        let mut in_tag = false;
        for c in html.chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        out
    }
}
