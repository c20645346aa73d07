//! Text from an account is attacker-controlled: user, group and policy names, Config
//! rule names and annotations, AWS error messages. An IAM user named
//! `"\u{1b}]0;pwned\u{7}"` would retitle the terminal of whoever audits the account,
//! `"\u{1b}[2J"` would clear it, a CR or BS would overwrite what came before on the line,
//! and U+202E (RIGHT-TO-LEFT OVERRIDE) would show the rest of a line backwards.
//!
//! This module decides which characters are unsafe to show raw ([`is_unsafe`]) and shows
//! them escaped: on the terminal as `\u{1b}` ([`Escaped`], [`escape`]), in JSON as
//! `\u001b` ([`JsonEscaping`]), which any JSON parser reads back as the same string.
//! The HTML report marks them visibly (`report::html`).

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::io;

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};

/// Whether `c` can change what a terminal does or how it orders a line: every C0
/// control (TAB, LF and CR included), DEL, every C1 control (U+0080–U+009F, where
/// U+009B is a one-byte CSI), the Unicode bidi controls (U+061C, U+200E, U+200F,
/// U+202A–U+202E, U+2066–U+2069) and the line and paragraph separators U+2028/U+2029.
pub fn is_unsafe(c: char) -> bool {
    matches!(
        c,
        '\0'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// Whether the bytes of a string may hold an unsafe character: any byte below 0x20 or
/// from 0x7F up. Plain ASCII text answers `false` in one vectorised pass; anything else
/// is then looked at character by character.
pub fn may_hold_unsafe(s: &str) -> bool {
    // Outside 0x20..0x7F in one compare: below 0x20 wraps round to the top.
    any_byte(s.as_bytes(), |b| b.wrapping_sub(0x20) >= 0x5f)
}

/// Whether `test` holds for a byte of `bytes`, for a `test` false for a space. 16 bytes
/// at a time, as fixed-size blocks the compiler turns into vector instructions, the
/// last block overlapping the one before it and a short text padded with spaces: a
/// plain fold left up to 31 bytes of every string to a byte-at-a-time tail, which made
/// the HTML report's escaping check cost a tenth of its rendering; with this it costs
/// 4 % of it (callgrind; a byte loop for short texts instead of the padding cost more).
#[inline(always)]
pub fn any_byte(bytes: &[u8], test: impl Fn(u8) -> bool + Copy) -> bool {
    let block = |b: &[u8; 16]| b.iter().fold(false, |any, &x| any | test(x));
    if bytes.len() < 16 {
        let mut padded = [b' '; 16];
        padded[..bytes.len()].copy_from_slice(bytes);
        return block(&padded);
    }
    let blocks = bytes.chunks_exact(16);
    let last: &[u8; 16] = bytes[bytes.len() - 16..].try_into().expect("16 bytes");
    blocks.fold(false, |any, b| any | block(b.try_into().expect("16 bytes"))) | block(last)
}

/// Whether `s` holds an unsafe character ([`is_unsafe`]), or with `SPACES_OK` one
/// other than TAB, LF and CR. Decided on the bytes: plain ASCII in one vectorised pass
/// ([`may_hold_unsafe`]); then C0 controls and DEL in another; then the non-ASCII ones,
/// whose UTF-8 starts with 0xC2 (C1), 0xD8 (U+061C) or 0xE2 (U+200E…U+2069), found by
/// memchr and checked at each. Decoding every character instead made the HTML report a
/// third slower, on its lists of names joined with " · " (measured).
pub fn holds_unsafe<const SPACES_OK: bool>(s: &str) -> bool {
    if !may_hold_unsafe(s) {
        return false;
    }
    let b = s.as_bytes();
    let control =
        |x: u8| (x < 0x20 && !(SPACES_OK && matches!(x, b'\t' | b'\n' | b'\r'))) || x == 0x7f;
    if any_byte(b, control) {
        return true;
    }
    memchr::memchr3_iter(0xc2, 0xd8, 0xe2, b).any(|i| {
        matches!(
            b[i..],
            [0xc2, 0x80..=0x9f, ..]
                | [0xd8, 0x9c, ..]
                | [0xe2, 0x80, 0x8e | 0x8f | 0xa8..=0xae, ..]
                | [0xe2, 0x81, 0xa6..=0xa9, ..]
        )
    })
}

/// `s` with every unsafe character written `\u{1b}` (lowercase hex, as Rust's `{:?}`
/// writes them); borrowed when there is none.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !holds_unsafe::<false>(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Shows a value on the terminal with its unsafe characters escaped ([`escape`]).
/// Width and alignment (`{:<20}`) apply to the escaped text.
pub struct Escaped<T>(pub T);

impl<T: fmt::Display> fmt::Display for Escaped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.to_string();
        f.pad(&escape(&text))
    }
}

/// A `serde_json` formatter that also escapes, as `\uXXXX`, the unsafe characters that
/// `serde_json` writes raw (DEL, C1 controls, bidi controls, U+2028/U+2029; it escapes
/// C0 controls itself). The JSON stays valid and means the same strings; printed on a
/// terminal (`cat`, `jq .`), it cannot drive it. Layout is `F`'s: this delegates
/// everything that serde_json's [`CompactFormatter`] and [`PrettyFormatter`] define.
pub struct JsonEscaping<F>(pub F);

impl<F: Formatter> Formatter for JsonEscaping<F> {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if !holds_unsafe::<false>(fragment) {
            return w.write_all(fragment.as_bytes());
        }
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if is_unsafe(c) {
                w.write_all(&fragment.as_bytes()[start..i])?;
                write!(w, "\\u{:04x}", c as u32)?;
                start = i + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// `value` as compact JSON into `w`, unsafe characters escaped ([`JsonEscaping`]).
pub fn write_json<W: io::Write, T: ?Sized + Serialize>(w: W, value: &T) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(w, JsonEscaping(CompactFormatter));
    value.serialize(&mut ser).map_err(io::Error::from)
}

/// `value` as pretty JSON (serde_json's layout), unsafe characters escaped.
pub fn to_json_pretty<T: ?Sized + Serialize>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(4096);
    let mut ser =
        serde_json::Serializer::with_formatter(&mut out, JsonEscaping(PrettyFormatter::new()));
    value.serialize(&mut ser)?;
    Ok(String::from_utf8(out).expect("serde_json writes UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character the issue names, and the ones around them that must stay.
    const HOSTILE: &str = "\u{1b}]0;pwned\u{7} \u{1b}[2J a\rb\u{8}c\n\t\u{7f} \u{85}\u{9b}31m \
         \u{202a}\u{202b}\u{202c}\u{202d}\u{202e} \u{2066}\u{2067}\u{2068}\u{2069} \
         \u{200e}\u{200f}\u{61c}\u{2028}\u{2029}";

    #[test]
    fn the_unsafe_set_is_exactly_the_documented_one() {
        let unsafe_chars: Vec<u32> = (0..=0x10ffffu32)
            .filter_map(char::from_u32)
            .filter(|c| is_unsafe(*c))
            .map(|c| c as u32)
            .collect();
        let mut expected: Vec<u32> = (0..0x20).chain(0x7f..0xa0).collect();
        expected.extend([0x61c, 0x200e, 0x200f]);
        expected.extend(0x202a..=0x202e);
        expected.extend(0x2066..=0x2069);
        expected.extend([0x2028, 0x2029]);
        expected.sort_unstable();
        assert_eq!(unsafe_chars, expected);
        // Neighbours that are ordinary text.
        for c in [
            ' ', '~', '\u{a0}', 'é', '\u{200b}', '\u{2027}', '\u{202f}', '\u{2065}', '日',
        ] {
            assert!(!is_unsafe(c), "{c:?}");
        }
    }

    #[test]
    fn the_byte_test_never_misses_an_unsafe_character() {
        for c in (0..=0x10ffffu32).filter_map(char::from_u32) {
            let s = format!("ab{c}cd");
            if is_unsafe(c) {
                assert!(may_hold_unsafe(&s), "{c:?}");
            }
            assert_eq!(
                may_hold_unsafe(&s),
                !c.is_ascii() || c.is_ascii_control(),
                "{c:?}"
            );
        }
    }

    /// The byte-level test agrees with the character test on every character, alone and
    /// among others, with and without TAB, LF and CR counting.
    #[test]
    fn holds_unsafe_equals_the_character_test() {
        // Every character whose UTF-8 starts with the bytes looked for (up to U+2FFF),
        // and a sample of the rest.
        let chars = (0..0x3000u32).chain((0x3000..=0x10ffff).step_by(97));
        for c in chars.filter_map(char::from_u32) {
            for s in [
                format!("{c}"),
                format!("a·{c}é"),
                format!("{c}\u{2027}\u{c2}"),
            ] {
                assert_eq!(holds_unsafe::<false>(&s), s.chars().any(is_unsafe), "{c:?}");
                assert_eq!(
                    holds_unsafe::<true>(&s),
                    s.chars()
                        .any(|c| is_unsafe(c) && !matches!(c, '\t' | '\n' | '\r')),
                    "{c:?}"
                );
            }
        }
    }

    /// Blocks, overlapping tails and padding see every byte of every length.
    #[test]
    fn any_byte_sees_every_position() {
        for len in 0..80 {
            for at in 0..len {
                let mut b = vec![b'a'; len];
                assert!(!any_byte(&b, |x| x == b'!'), "{len}");
                b[at] = b'!';
                assert!(any_byte(&b, |x| x == b'!'), "{len} {at}");
            }
        }
    }

    #[test]
    fn terminal_escaping_leaves_nothing_raw() {
        let shown = escape(HOSTILE);
        assert!(!shown.chars().any(is_unsafe), "{shown}");
        assert!(shown.starts_with("\\u{1b}]0;pwned\\u{7} \\u{1b}[2J a\\u{d}b\\u{8}c\\u{a}\\u{9}\\u{7f} \\u{85}\\u{9b}31m "), "{shown}");
        assert!(shown.ends_with("\\u{2028}\\u{2029}"), "{shown}");
        // The same form as Rust's `{:?}`, so a quoted value and an escaped one agree.
        assert_eq!(escape("\u{1b}\u{202e}"), "\\u{1b}\\u{202e}");
        assert_eq!(format!("{:?}", "\u{1b}\u{202e}"), "\"\\u{1b}\\u{202e}\"");
        // Ordinary text, non-ASCII included, is borrowed as it is.
        for s in ["", "alice", "José 日本 «x» \u{a0}", "a\\u{1b}"] {
            assert!(matches!(escape(s), Cow::Borrowed(b) if b == s), "{s}");
        }
        assert_eq!(format!("[{:<8}]", Escaped("a\u{7}")), "[a\\u{7}  ]");
        assert_eq!(
            Escaped(format_args!("{}-{}", "x", "\u{9b}")).to_string(),
            "x-\\u{9b}"
        );
    }

    #[test]
    fn json_escaping_is_valid_json_of_the_same_strings() {
        let value =
            serde_json::json!({ "name": HOSTILE, "list": [HOSTILE, "plain", 1, null, true] });
        let mut compact = Vec::new();
        write_json(&mut compact, &value).unwrap();
        let pretty = to_json_pretty(&value).unwrap();
        for text in [String::from_utf8(compact).unwrap(), pretty] {
            assert!(!text.chars().any(|c| is_unsafe(c) && c != '\n'), "{text}");
            assert!(
                text.contains("\\u202e") && text.contains("\\u009b") && text.contains("\\u007f"),
                "{text}"
            );
            let back: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back, value);
        }
    }

    #[test]
    fn json_without_unsafe_characters_is_serde_jsons_byte_for_byte() {
        let value = serde_json::json!({ "a": ["x", "é 日本 \"q\" \\ \u{1}", {"b": 1.5, "c": -3}], "d": {}, "e": [] });
        let mut compact = Vec::new();
        write_json(&mut compact, &value).unwrap();
        assert_eq!(
            String::from_utf8(compact).unwrap(),
            serde_json::to_string(&value).unwrap()
        );
        assert_eq!(
            to_json_pretty(&value).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        );
    }
}
