//! The seal that ends every snapshot of schema 4 and later: a checksum of every byte
//! before it, so that a damaged, truncated or modified snapshot is refused instead of
//! read as different data — including damage SQLite itself cannot see, such as one
//! flipped byte inside a stored value.
//!
//! Layout of the last [`LEN`] bytes of the file:
//! - 8 bytes: [`MAGIC`];
//! - 8 bytes: the length of the sealed content (every byte before the seal), big-endian;
//! - 16 bytes: XXH3-128 of that content, big-endian.
//!
//! SQLite reads a database up to the page count in its header and ignores what follows,
//! so a sealed snapshot stays an ordinary SQLite file (`sqlite3 file.sqlite` works).
//! The checksum detects accidents (disk, copy, an edit by hand), not tampering: anyone
//! able to rewrite the file can rewrite its seal.
//!
//! Checking the seal replaced SQLite's `PRAGMA quick_check` for sealed snapshots: it
//! covers every byte rather than the b-tree structure, and costs a hash of the file
//! (about 0.03 ms per MB) instead of a walk of every page and row (a tenth of
//! `evaluate`, issue 5). Snapshots of schema 1 to 3 have no seal and are still checked
//! with `quick_check`.

use xxhash_rust::xxh3::xxh3_128;

/// The first schema version whose snapshots end with a seal.
pub const SINCE_SCHEMA: i64 = 4;

/// `CKSEAL`, then the seal format version (1) and a zero byte.
pub const MAGIC: [u8; 8] = *b"CKSEAL\x01\x00";

/// The seal's length in bytes.
pub const LEN: usize = 32;

/// The seal for `content` (the whole file before it).
pub fn seal(content: &[u8]) -> [u8; LEN] {
    let mut out = [0u8; LEN];
    out[..8].copy_from_slice(&MAGIC);
    out[8..16].copy_from_slice(&(content.len() as u64).to_be_bytes());
    out[16..].copy_from_slice(&xxh3_128(content).to_be_bytes());
    out
}

/// What the end of a file says.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A seal that matches: the first `content_len` bytes are exactly what was written.
    Intact { content_len: usize },
    /// No seal at all (a snapshot of schema 1 to 3, or one whose seal was cut off).
    Unsealed,
    /// A seal that does not match the content.
    Broken(String),
}

/// Checks the seal at the end of `file` (a whole snapshot file).
pub fn verify(file: &[u8]) -> Verdict {
    let Some(content_len) = file.len().checked_sub(LEN) else {
        return Verdict::Unsealed;
    };
    let (content, tail) = file.split_at(content_len);
    if tail[..8] != MAGIC {
        return Verdict::Unsealed;
    }
    let recorded_len = u64::from_be_bytes(tail[8..16].try_into().expect("8 bytes"));
    if recorded_len != content_len as u64 {
        return Verdict::Broken(format!(
            "its seal covers {recorded_len} bytes but {content_len} precede it (truncated or extended)"
        ));
    }
    let recorded = u128::from_be_bytes(tail[16..].try_into().expect("16 bytes"));
    if recorded != xxh3_128(content) {
        return Verdict::Broken(
            "its checksum does not match its content (damaged or modified after it was written)"
                .into(),
        );
    }
    Verdict::Intact { content_len }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_file_verifies_and_any_change_breaks_it() {
        let content: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut file = content.clone();
        file.extend_from_slice(&seal(&content));
        assert_eq!(
            verify(&file),
            Verdict::Intact {
                content_len: content.len()
            }
        );
        // One bit anywhere (content, recorded length, checksum) breaks the seal.
        for at in [
            0,
            1,
            2500,
            content.len() - 1,
            content.len() + 8,
            file.len() - 1,
        ] {
            let mut damaged = file.clone();
            damaged[at] ^= 0x01;
            assert!(
                matches!(verify(&damaged), Verdict::Broken(_)),
                "byte {at} flipped: {:?}",
                verify(&damaged)
            );
        }
        // Cutting the file or the seal off: no seal, or a seal that does not fit.
        assert_eq!(verify(&content), Verdict::Unsealed);
        assert_eq!(verify(&file[..file.len() - 1]), Verdict::Unsealed);
        assert_eq!(verify(&[]), Verdict::Unsealed);
        let mut cut_inside = content[..1000].to_vec();
        cut_inside.extend_from_slice(&file[content.len()..]);
        assert!(matches!(verify(&cut_inside), Verdict::Broken(_)));
    }

    /// The format is fixed: a seal written today must verify in every later release,
    /// and anyone can check one with the reference XXH3 (the expected value below is
    /// Python's `xxhash.xxh3_128_hexdigest(b"CloudKestrel")`, from the C library).
    #[test]
    fn the_seal_format_does_not_change() {
        let s = seal(b"CloudKestrel");
        assert_eq!(&s[..8], b"CKSEAL\x01\x00");
        assert_eq!(&s[8..16], &12u64.to_be_bytes());
        assert_eq!(
            u128::from_be_bytes(s[16..].try_into().unwrap()),
            0x94e2420af1847a2b0fcf77096ab0e855
        );
    }
}
