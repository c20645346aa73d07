//! Account text in the HTML report: escaped, with fast paths for the text that needs
//! nothing (nearly all of it), and controls shown as markers instead of applied.

use horrorshow::prelude::*;

use crate::untrusted;

/// Text from the account, escaped like horrorshow escapes `&str` (`&`, `"`, `<`, `>`),
/// but copied in one piece when it holds none of them, as nearly every result does:
/// horrorshow escapes byte by byte, which was a tenth of `evaluate` at scale (issue 5).
/// Characters that could reorder or hide text ([`untrusted::is_unsafe`]: bidi
/// overrides, C0 and C1 controls; not TAB, LF and CR, which HTML shows as spaces) are
/// shown as a marked `[U+202E]` in their place, never applied.
///
/// memchr finds `&<>` with vector instructions (a byte loop cost ten instructions a
/// byte here, measured); one more vectorised pass ([`untrusted::any_byte`]) finds `"`
/// and any byte outside printable ASCII, so plain ASCII text is never decoded. The
/// report costs 4 % more instructions than with memchr for `"` alone (callgrind, the
/// 1,000-user bench), for the marking.
#[derive(Clone, Copy)]
pub(super) struct Esc<'a>(pub &'a str);

impl RenderOnce for Esc<'_> {
    fn render_once(self, tmpl: &mut TemplateBuffer<'_>) {
        let b = self.0.as_bytes();
        let special = memchr::memchr3(b'&', b'<', b'>', b).is_some();
        let care = untrusted::any_byte(b, |x| (x.wrapping_sub(0x20) >= 0x5f) | (x == b'"'));
        if !special && !care {
            tmpl.write_raw(self.0);
        } else if care && untrusted::holds_unsafe::<true>(self.0) {
            render_marked(self.0, tmpl);
        } else {
            // (Text with `"` or beyond ASCII, escaped whole: looking again for `"` to
            // copy the text with none cost more than it saved, callgrind.)
            tmpl.write_str(self.0);
        }
    }
}

/// Names joined with " · ", as [`Esc`] renders the joined text. Each name is looked at
/// for marked characters, not the joined text: names are nearly always ASCII, the
/// separator is not, and looking through the non-ASCII lists of a thousand names made
/// the HTML report a quarter slower (measured).
pub(super) struct EscJoined<'a>(pub &'a [&'a str]);

impl RenderOnce for EscJoined<'_> {
    fn render_once(self, tmpl: &mut TemplateBuffer<'_>) {
        let text = self.0.join(" · ");
        if self.0.iter().any(|n| untrusted::holds_unsafe::<true>(n)) {
            render_marked(&text, tmpl);
        } else {
            let b = text.as_bytes();
            if memchr::memchr3(b'&', b'<', b'>', b).is_none() && memchr::memchr(b'"', b).is_none() {
                tmpl.write_raw(&text);
            } else {
                tmpl.write_str(&text);
            }
        }
    }
}

/// Whether the HTML report shows `c` as a marker instead of the character.
pub(super) fn marked(c: char) -> bool {
    untrusted::is_unsafe(c) && !matches!(c, '\t' | '\n' | '\r')
}

/// `text` escaped, each [`marked`] character replaced by `[U+XXXX]` in a `<mark>`.
fn render_marked(text: &str, tmpl: &mut TemplateBuffer<'_>) {
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if marked(c) {
            tmpl.write_str(&text[start..i]);
            tmpl.write_raw(&format!(
                "<mark class=\"cc\" title=\"a control character, shown instead of applied\">[U+{:04X}]</mark>",
                c as u32
            ));
            start = i + c.len_utf8();
        }
    }
    tmpl.write_str(&text[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use horrorshow::html;

    /// The fast path must render exactly what horrorshow's own escaping renders.
    #[test]
    fn esc_equals_horrorshow_escaping() {
        for text in [
            "",
            "plain user0001 arn:aws:iam::123456789012:user/x",
            "<script>alert('x')</script>",
            "a & b \"q\" > <",
            "é 日本 ' \u{a0} \t\n\r",
        ] {
            let fast = html! { p : Esc(text); }.into_string().unwrap();
            let reference = html! { p : text; }.into_string().unwrap();
            assert_eq!(fast, reference, "{text}");
        }
    }

    /// Joined names render as the joined text does, markers included.
    #[test]
    fn esc_joined_equals_esc_of_the_joined_text() {
        for names in [&["a", "b<"][..], &["x\u{202e}y", "z"], &[], &["é", "\u{7}"]] {
            let joined = names.join(" · ");
            assert_eq!(
                html! { p : EscJoined(names); }.into_string().unwrap(),
                html! { p : Esc(&joined); }.into_string().unwrap()
            );
        }
    }

    /// Controls and bidi overrides are shown as markers, the text around them escaped.
    #[test]
    fn esc_marks_controls_and_bidi_overrides() {
        let text = "<b>\u{202e}txt.exe\u{1b}]0;x\u{7}\u{9b}\u{2066}&\u{2028}\n";
        let page = html! { p : Esc(text); }.into_string().unwrap();
        let mark = |hex: &str| {
            format!("<mark class=\"cc\" title=\"a control character, shown instead of applied\">[U+{hex}]</mark>")
        };
        assert_eq!(
            page,
            format!(
                "<p>&lt;b&gt;{}txt.exe{}]0;x{}{}{}&amp;{}\n</p>",
                mark("202E"),
                mark("001B"),
                mark("0007"),
                mark("009B"),
                mark("2066"),
                mark("2028")
            )
        );
        assert!(!page.chars().any(marked));
    }
}
