//! The fail-closed campaign's engine (issue 12): a seeded generator, how big a campaign
//! is, and JSON documents that can hold what JSON parsers drop (a key twice), mutated
//! structurally and byte by byte.

use std::fmt::Write as _;

/// xorshift64*: deterministic, so a failure is replayed by its seed and number.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// `CLOUDKESTREL_CAMPAIGN_SCALE` (default 1): how many times the default number of
/// inputs a campaign tries (e.g. 20 for a run by hand).
pub fn scale() -> usize {
    std::env::var("CLOUDKESTREL_CAMPAIGN_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(1)
}

/// A JSON value whose objects keep every key in order, a key twice included.
#[derive(Clone, Debug, PartialEq)]
pub enum J {
    Null,
    Bool(bool),
    /// A number as written.
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl<'de> serde::Deserialize<'de> for J {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<J, D::Error> {
        use serde::de::{MapAccess, SeqAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = J;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<J, E> {
                Ok(J::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<J, E> {
                Ok(J::Bool(b))
            }
            fn visit_u64<E>(self, n: u64) -> Result<J, E> {
                Ok(J::Num(n.to_string()))
            }
            fn visit_i64<E>(self, n: i64) -> Result<J, E> {
                Ok(J::Num(n.to_string()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<J, E> {
                Ok(J::Num(n.to_string()))
            }
            fn visit_str<E>(self, s: &str) -> Result<J, E> {
                Ok(J::Str(s.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<J, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = a.next_element()? {
                    v.push(x);
                }
                Ok(J::Arr(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<J, A::Error> {
                let mut v = Vec::new();
                while let Some((k, x)) = a.next_entry()? {
                    v.push((k, x));
                }
                Ok(J::Obj(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl J {
    /// An independent reading of `text`: serde_json's, every key kept.
    pub fn parse(text: &str) -> Result<J, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// The value of `key`, when this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&J> {
        match self {
            J::Obj(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Whether some object in this value has a key twice.
    pub fn has_duplicate_key(&self) -> bool {
        match self {
            J::Arr(v) => v.iter().any(J::has_duplicate_key),
            J::Obj(kv) => {
                kv.iter()
                    .enumerate()
                    .any(|(i, (k, _))| kv[..i].iter().any(|(k2, _)| k2 == k))
                    || kv.iter().any(|(_, v)| v.has_duplicate_key())
            }
            _ => false,
        }
    }

    /// The text of this value; `pretty` with newlines and indentation.
    pub fn emit(&self, pretty: bool) -> String {
        let mut out = String::new();
        self.write(&mut out, pretty, 0);
        out
    }

    fn write(&self, out: &mut String, pretty: bool, depth: usize) {
        let nl = |out: &mut String, d: usize| {
            if pretty {
                out.push('\n');
                out.push_str(&"  ".repeat(d.min(40)));
            }
        };
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => write!(out, "{b}").unwrap(),
            J::Num(n) => out.push_str(n),
            J::Str(s) => out.push_str(&serde_json::to_string(s).unwrap()),
            J::Arr(v) => {
                out.push('[');
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    nl(out, depth + 1);
                    x.write(out, pretty, depth + 1);
                }
                if !v.is_empty() {
                    nl(out, depth);
                }
                out.push(']');
            }
            J::Obj(kv) => {
                out.push('{');
                for (i, (k, x)) in kv.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    nl(out, depth + 1);
                    out.push_str(&serde_json::to_string(k).unwrap());
                    out.push_str(": ");
                    x.write(out, pretty, depth + 1);
                }
                if !kv.is_empty() {
                    nl(out, depth);
                }
                out.push('}');
            }
        }
    }

    /// How many values this one holds, itself included.
    fn count(&self) -> usize {
        1 + match self {
            J::Arr(v) => v.iter().map(J::count).sum(),
            J::Obj(kv) => kv.iter().map(|(_, v)| v.count()).sum(),
            _ => 0,
        }
    }

    /// The `n`th value in preorder (0: this one).
    fn nth_mut(&mut self, mut n: usize) -> &mut J {
        if n == 0 {
            return self;
        }
        n -= 1;
        let children: Vec<&mut J> = match self {
            J::Arr(v) => v.iter_mut().collect(),
            J::Obj(kv) => kv.iter_mut().map(|(_, v)| v).collect(),
            _ => unreachable!("n is below count()"),
        };
        for c in children {
            let size = c.count();
            if n < size {
                return c.nth_mut(n);
            }
            n -= size;
        }
        unreachable!("n is below count()")
    }

    /// Every value in this one, itself included, cloned (for splices).
    pub fn fragments(&self) -> Vec<J> {
        let mut out = vec![self.clone()];
        match self {
            J::Arr(v) => v.iter().for_each(|x| out.extend(x.fragments())),
            J::Obj(kv) => kv.iter().for_each(|(_, x)| out.extend(x.fragments())),
            _ => {}
        }
        out
    }

    /// Every key of every object in this one.
    pub fn keys(&self) -> Vec<String> {
        match self {
            J::Arr(v) => v.iter().flat_map(J::keys).collect(),
            J::Obj(kv) => kv
                .iter()
                .flat_map(|(k, v)| std::iter::once(k.clone()).chain(v.keys()))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Strings that attack a parser or a terminal.
const HOSTILE: &[&str] = &[
    "",
    " ",
    "\u{0}",
    "\u{1b}[2J",
    "\u{202e}",
    "\u{7f}",
    "\r\n",
    "\t",
    "\\",
    "\"",
    "\u{feff}",
    "ａ",
    "null",
    "true",
    "0",
    "*",
    "-1",
    "arn:",
    "../../etc",
    "2027-01-01",
];

/// Numbers at and past every limit.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "1.5",
    "1e3",
    "1E-3",
    "2147483647",
    "2147483648",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "1e400",
    "-1e400",
    "123456789012345678901234567890",
];

/// Mutates `doc` in one structural way; `fragments` and `keys` come from every seed.
pub fn mutate(doc: &mut J, rng: &mut Rng, fragments: &[J], keys: &[String]) {
    let n = rng.below(doc.count());
    let node = doc.nth_mut(n);
    match rng.below(12) {
        // A value of another type.
        0 => {
            *node = match rng.below(7) {
                0 => J::Null,
                1 => J::Bool(rng.below(2) == 1),
                2 => J::Num(rng.pick(NUMBERS).to_string()),
                3 => J::Str(rng.pick(HOSTILE).to_string()),
                4 => J::Arr(Vec::new()),
                5 => J::Obj(Vec::new()),
                _ => J::Str("x".repeat(rng.below(3) * 5000)),
            }
        }
        // A list where an object (or anything) was: the value, or the object's values.
        1 => {
            *node = match std::mem::replace(node, J::Null) {
                J::Obj(kv) if rng.below(2) == 0 => J::Arr(kv.into_iter().map(|(_, v)| v).collect()),
                other => J::Arr(vec![other]),
            }
        }
        // A key written twice: with its value or another.
        2 => {
            if let J::Obj(kv) = node {
                if !kv.is_empty() {
                    let (k, v) = kv[rng.below(kv.len())].clone();
                    let v = if rng.below(2) == 0 {
                        v
                    } else {
                        rng.pick(fragments).clone()
                    };
                    kv.insert(rng.below(kv.len() + 1), (k, v));
                }
            }
        }
        // An unknown key, or a known one where it does not belong, or one misspelt.
        3 => {
            if let J::Obj(kv) = node {
                let known = rng.pick(keys).clone();
                let k = match rng.below(5) {
                    0 => known,
                    1 => known.to_lowercase(),
                    2 => format!("{known} "),
                    3 => format!("{known}\u{0}"),
                    _ => rng.pick(HOSTILE).to_string(),
                };
                let v = rng.pick(fragments).clone();
                kv.insert(rng.below(kv.len() + 1), (k, v));
            }
        }
        // A key or an element removed.
        4 => match node {
            J::Obj(kv) if !kv.is_empty() => {
                kv.remove(rng.below(kv.len()));
            }
            J::Arr(v) if !v.is_empty() => {
                v.remove(rng.below(v.len()));
            }
            _ => *node = J::Obj(Vec::new()),
        },
        // An element twice (a rule, a region, a target).
        5 => match node {
            J::Arr(v) if !v.is_empty() => {
                let x = v[rng.below(v.len())].clone();
                v.insert(rng.below(v.len() + 1), x);
            }
            _ => *node = J::Num(rng.pick(NUMBERS).to_string()),
        },
        // A number at a limit.
        6 => *node = J::Num(rng.pick(NUMBERS).to_string()),
        // A string changed: hostile text in it, cut, doubled, cased.
        7 => {
            if let J::Str(s) = node {
                let mut chars: Vec<char> = s.chars().collect();
                let at = rng.below(chars.len() + 1);
                match rng.below(4) {
                    0 => chars
                        .splice(at..at, rng.pick(HOSTILE).chars())
                        .for_each(drop),
                    1 => chars.truncate(at),
                    2 => chars = chars.iter().flat_map(|c| c.to_uppercase()).collect(),
                    _ => chars.extend(s.chars().collect::<Vec<_>>()),
                }
                *s = chars.into_iter().collect();
            } else {
                *node = J::Str(rng.pick(HOSTILE).to_string());
            }
        }
        // A valid fragment of some seed spliced in.
        8 | 9 => *node = rng.pick(fragments).clone(),
        // Deep nesting.
        10 => {
            let depth = *rng.pick(&[3, 60, 127, 129, 300]);
            let mut v = std::mem::replace(node, J::Null);
            for i in 0..depth {
                v = if i % 2 == 0 {
                    J::Arr(vec![v])
                } else {
                    J::Obj(vec![("a".into(), v)])
                };
            }
            *node = v;
        }
        // A key renamed to another known key.
        _ => {
            if let J::Obj(kv) = node {
                if !kv.is_empty() {
                    let i = rng.below(kv.len());
                    kv[i].0 = rng.pick(keys).clone();
                }
            }
        }
    }
}

/// Bytes that are not text: control characters, NUL, bidi overrides, and sequences
/// that are not UTF-8 (a lone lead byte, a continuation byte, a surrogate, an overlong
/// form, a byte never in UTF-8).
const BYTES: &[&[u8]] = &[
    b"\x00",
    b"\x1b",
    b"\x07",
    b"\x7f",
    b"\r",
    b"\x0c",
    "\u{202e}".as_bytes(),
    "\u{2066}".as_bytes(),
    "\u{85}".as_bytes(),
    b"\xff",
    b"\xfe",
    b"\xc3",
    b"\x80",
    b"\xed\xa0\x80",
    b"\xc0\xaf",
    b"\xf4\x90\x80\x80",
    b"\xef\xbb\xbf",
    b"//",
    b"/*",
    b",",
    b"}",
    b"]",
    b"\"",
    b"\\",
    b"NaN",
];

/// Mutates `text` byte by byte.
pub fn mutate_bytes(text: &mut Vec<u8>, rng: &mut Rng) {
    let at = rng.below(text.len() + 1);
    match rng.below(7) {
        0 if at < text.len() => text[at] ^= 1 << rng.below(8),
        1 | 2 => {
            let b = rng.pick(BYTES);
            text.splice(at..at, b.iter().copied());
        }
        3 => text.truncate(at),
        // Nesting far deeper than any tree here could hold.
        6 if rng.below(4) == 0 => {
            let open: &[u8] = if rng.below(2) == 0 { b"[" } else { b"{\"a\":" };
            let deep = open.repeat(100_000);
            text.splice(at..at, deep);
        }
        4 => {
            let end = (at + rng.below(40)).min(text.len());
            text.drain(at..end);
        }
        5 => {
            let end = (at + rng.below(40)).min(text.len());
            let piece = text[at..end].to_vec();
            text.splice(at..at, piece);
        }
        _ => {
            const TAILS: &[&[u8]] = &[b" x", b"{}", b"\n// c", b"\x00", b"\xff"];
            let tail: &[u8] = TAILS[rng.below(TAILS.len())];
            text.extend_from_slice(tail)
        }
    }
}

/// A mutated copy of one of `seeds` (their texts; `docs`, `fragments` and `keys` read
/// from them): one to three structural changes, then none to two byte changes.
pub fn input(rng: &mut Rng, docs: &[J], fragments: &[J], keys: &[String]) -> Vec<u8> {
    let mut doc = rng.pick(docs).clone();
    for _ in 0..=rng.below(3) {
        if rng.below(5) > 0 {
            mutate(&mut doc, rng, fragments, keys);
        }
    }
    let mut text = doc.emit(rng.below(2) == 0).into_bytes();
    for _ in 0..rng.below(3) {
        mutate_bytes(&mut text, rng);
    }
    text
}
