//! "Did you mean": the closest of some known names (rules, settings, targets) to a
//! name that is none of them.
//!
//! Only names of comparable length are compared: the shorter at least three fifths of
//! the longer, in characters. A name much shorter or longer than another is not its
//! typo (`de` is not `demo`, `prod` not `prod-eu-west-1-main`), and a value of a
//! megabyte from a file is never compared character by character against each name
//! (the distance costs the product of the two lengths).

/// The shortest ratio of lengths (shorter / longer) compared, as a fraction.
const LENGTH_RATIO: (usize, usize) = (3, 5);

/// The lowest similarity suggested (1 is equal): at most two edits in five.
const THRESHOLD: f64 = 0.6;

/// Whether lengths `a` and `b` (in characters) are comparable.
fn comparable(a: usize, b: usize) -> bool {
    let (short, long) = if a < b { (a, b) } else { (b, a) };
    short * LENGTH_RATIO.1 >= long * LENGTH_RATIO.0
}

/// The name of `names` closest to `given` (case aside, by Damerau-Levenshtein
/// distance), if one is of comparable length and close enough; the first of equals.
pub fn closest<'a>(given: &str, names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let names: Vec<&'a str> = names.into_iter().collect();
    let longest = names.iter().map(|n| n.chars().count()).max()?;
    // Counting stops past what any name could be compared with.
    let limit = longest * LENGTH_RATIO.1 / LENGTH_RATIO.0 + 1;
    let len = given.chars().take(limit).count();
    if len >= limit {
        return None;
    }
    let given = given.to_lowercase();
    let mut best: Option<(f64, &'a str)> = None;
    for name in names {
        if !comparable(len, name.chars().count()) {
            continue;
        }
        let score = strsim::normalized_damerau_levenshtein(&given, &name.to_lowercase());
        if score >= THRESHOLD && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, name));
        }
    }
    best.map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::closest;

    const RULES: [&str; 3] = [
        "Force_MFA",
        "IAM_USER_MFA_ENABLED",
        "IAM_USER_UNUSED_CREDENTIALS_CHECK",
    ];

    #[test]
    fn typos_of_comparable_length_are_suggested() {
        assert_eq!(
            closest("IAM_USER_MFA_ENABLD", RULES),
            Some("IAM_USER_MFA_ENABLED")
        );
        assert_eq!(
            closest("iam_user_mfa_enabled", RULES),
            Some("IAM_USER_MFA_ENABLED")
        );
        assert_eq!(closest("IAM_USER_MFA", RULES), Some("IAM_USER_MFA_ENABLED"));
        assert_eq!(closest("force_mfa", RULES), Some("Force_MFA"));
        assert_eq!(closest("dmeo", ["demo", "prod"]), Some("demo"));
        assert_eq!(
            closest("maxCredentialUsage", ["maxCredentialUsageAge"]),
            Some("maxCredentialUsageAge")
        );
    }

    /// The previous checks suggested names of very different length (a target name
    /// sharing a prefix, by Jaro-Winkler), and compared a value of any length.
    #[test]
    fn names_of_very_different_length_are_never_suggested() {
        assert_eq!(closest("de", ["demo"]), None);
        assert_eq!(closest("prod", ["prod-eu-west-1-main"]), None);
        assert_eq!(closest("prod-eu-west-1-main", ["prod"]), None);
        assert_eq!(closest("MFA", RULES), None);
        assert_eq!(closest("IAM", RULES), None);
        assert_eq!(closest("", RULES), None);
        assert_eq!(closest("x", std::iter::empty()), None);
        // A megabyte-long value: refused by its length, before any distance.
        assert_eq!(closest(&"IAM_USER_MFA_ENABLED".repeat(50_000), RULES), None);
    }
}
