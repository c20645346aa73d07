//! `--shard K/N`: the slice of the targets one of N machines takes (a CI matrix, a
//! Kubernetes Indexed Job, an AWS Batch array job), with no overlap and nothing left
//! out.
//!
//! A target's shard depends on itself only: the first 8 bytes of SHA-256 of its key
//! (the account id when known before collecting: an organization member's, or the
//! account of its `RoleArn`; else its name), as a number, modulo N. So every job of a
//! matrix takes the same decision for a target whatever else it discovered (an account
//! added to the organization between two jobs' starts moves nothing), and `collect`,
//! `audit` and `evaluate` shard alike. The slices are as even as hashing makes them.
//!
//! `K` is 1-based. `--shard N` alone takes it from the environment, where schedulers
//! give a 0-based index: `JOB_COMPLETION_INDEX` (Kubernetes Indexed Jobs), else
//! `AWS_BATCH_JOB_ARRAY_INDEX` (AWS Batch array jobs); K is that plus one.

use sha2::{Digest, Sha256};

use super::Target;

/// One slice of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub k: u64,
    pub n: u64,
}

/// The variables that give a 0-based index, in the order they are read.
pub const INDEX_VARIABLES: [&str; 2] = ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"];

impl Shard {
    /// Parses `K/N`, or `N` with K from [`INDEX_VARIABLES`] (`env` looks a variable up).
    pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let number = |s: &str, what: &str| {
            s.trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    format!("--shard {text}: {what} {s:?} is not a whole number of 1 or more")
                })
        };
        let (k, n) = match text.split_once('/') {
            Some((k, n)) => (number(k, "K")?, number(n, "N")?),
            None => {
                let n = number(text, "N")?;
                let (var, value) = INDEX_VARIABLES
                    .iter()
                    .find_map(|v| env(v).map(|x| (*v, x)))
                    .ok_or_else(|| {
                        format!(
                            "--shard {text}: give K/N, or set {} (the 0-based index of this job)",
                            INDEX_VARIABLES.join(" or ")
                        )
                    })?;
                let index = value.trim().parse::<u64>().map_err(|_| {
                    format!("--shard {text}: {var}={value:?} is not a 0-based index")
                })?;
                (index + 1, n)
            }
        };
        if k > n {
            return Err(format!(
                "--shard {text}: shard {k} of {n} does not exist (K is 1 to N; a 0-based index {} is shard {k})",
                k - 1
            ));
        }
        Ok(Shard { k, n })
    }

    /// The shard (1-based) of a target's key.
    pub fn of_key(key: &str, n: u64) -> u64 {
        let digest = Sha256::digest(key.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first) % n + 1
    }

    /// What decides a target's shard.
    pub fn key(target: &Target) -> &str {
        target.expected_account().unwrap_or(&target.name)
    }

    pub fn keeps(&self, target: &Target) -> bool {
        Shard::of_key(Shard::key(target), self.n) == self.k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_k_of_n_and_the_schedulers_indexes() {
        let none = |_: &str| None;
        assert_eq!(Shard::parse("2/5", none), Ok(Shard { k: 2, n: 5 }));
        for bad in ["0/5", "6/5", "a/5", "1/0", "5", "/", "1/"] {
            assert!(Shard::parse(bad, none).is_err(), "{bad}");
        }
        let k8s = |v: &str| (v == "JOB_COMPLETION_INDEX").then(|| "0".to_string());
        assert_eq!(Shard::parse("4", k8s), Ok(Shard { k: 1, n: 4 }));
        let batch = |v: &str| (v == "AWS_BATCH_JOB_ARRAY_INDEX").then(|| "3".to_string());
        assert_eq!(Shard::parse("4", batch), Ok(Shard { k: 4, n: 4 }));
        let past = |v: &str| (v == "AWS_BATCH_JOB_ARRAY_INDEX").then(|| "4".to_string());
        assert!(Shard::parse("4", past)
            .unwrap_err()
            .contains("0-based index 4"));
    }

    /// Every key in exactly one shard, for any N; and the slices are not lopsided.
    #[test]
    fn shards_are_disjoint_and_complete() {
        let keys: Vec<String> = (0..1000)
            .map(|i| format!("{:012}", 100_000_000_000u64 + i * 7919))
            .collect();
        for n in [1, 2, 3, 7, 20] {
            let mut sizes = vec![0usize; n as usize];
            for key in &keys {
                let owners: Vec<u64> = (1..=n).filter(|k| Shard::of_key(key, n) == *k).collect();
                assert_eq!(owners.len(), 1);
                sizes[(owners[0] - 1) as usize] += 1;
            }
            // Within half of the even share either way (four standard deviations of
            // a fair split at N = 20): a broken hash would pile keys up.
            let even = keys.len() / n as usize;
            assert!(
                sizes.iter().all(|s| s * 2 >= even && s * 2 <= even * 3),
                "{n}: {sizes:?}"
            );
        }
        // Pinned: the split is a contract between the jobs of one run and the next.
        assert_eq!(
            Shard::of_key("111122223333", 4),
            Shard::of_key("111122223333", 4)
        );
        assert_eq!(
            PINNED.to_vec(),
            (1..=10)
                .map(|n| Shard::of_key("111122223333", n))
                .collect::<Vec<_>>()
        );
    }

    // Python: int.from_bytes(hashlib.sha256(b"111122223333").digest()[:8], "big") % n + 1
    const PINNED: [u64; 10] = [1, 1, 1, 1, 5, 1, 5, 5, 7, 5];
}
