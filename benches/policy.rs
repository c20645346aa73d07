//! Micro-benchmarks of policy normalisation and comparison (issue 5): `cargo bench
//! --bench policy`. Timings are reported, never asserted.

use serde_json::Value;

use cloudkestrel::policy::{normalize, parse_document, parse_json_document, Policy};

const FORCE_MFA: &str = include_str!("../policies/Force_MFA.json");

fn main() {
    divan::main();
}

/// Force_MFA as shipped.
fn ours() -> Value {
    parse_document(FORCE_MFA).unwrap()
}

/// The same policy written differently: statements reversed, `Sid`s dropped, action
/// lists reversed with every other action upper-cased. Identical for CloudKestrel.
fn reordered() -> Value {
    let mut doc = ours();
    if let Some(Value::Array(statements)) = doc.get_mut("Statement") {
        statements.reverse();
        for s in statements.iter_mut().filter_map(Value::as_object_mut) {
            s.remove("Sid");
            for key in ["Action", "NotAction"] {
                if let Some(Value::Array(actions)) = s.get_mut(key) {
                    actions.reverse();
                    for a in actions.iter_mut().skip(1).step_by(2) {
                        if let Value::String(text) = a {
                            *text = text.to_uppercase();
                        }
                    }
                }
            }
        }
    }
    doc
}

/// A subtly weaker copy: `Bool` where ours says `BoolIfExists`.
fn weakened() -> Value {
    parse_document(&FORCE_MFA.replace("BoolIfExists", "Bool")).unwrap()
}

#[divan::bench]
fn parse_force_mfa() -> Value {
    parse_document(divan::black_box(FORCE_MFA)).unwrap()
}

/// A snapshot's documents are read with the duplicate-key check (issue 12): what that
/// costs against serde_json's own parser, on the compact JSON the writer stores.
#[divan::bench(args = ["serde_json", "parse_json_document"])]
fn parse_stored_force_mfa(bencher: divan::Bencher, which: &str) {
    let stored = serde_json::to_string(&ours()).unwrap();
    match which {
        "serde_json" => {
            bencher.bench(|| serde_json::from_str::<Value>(divan::black_box(&stored)).unwrap())
        }
        _ => bencher.bench(|| parse_json_document(divan::black_box(&stored)).unwrap()),
    }
}

#[divan::bench(args = ["ours", "reordered", "weakened"])]
fn normalize_force_mfa(bencher: divan::Bencher, which: &str) {
    let doc = match which {
        "ours" => ours(),
        "reordered" => reordered(),
        _ => weakened(),
    };
    bencher.bench(|| normalize(divan::black_box(&doc)).unwrap());
}

#[divan::bench]
fn identical_reordered(bencher: divan::Bencher) {
    let (a, b) = (
        normalize(&ours()).unwrap(),
        normalize(&reordered()).unwrap(),
    );
    assert!(a.identical(&b));
    bencher.bench(|| divan::black_box(&a).identical(divan::black_box(&b)));
}

#[divan::bench]
fn diff_weakened(bencher: divan::Bencher) {
    let (a, b) = (normalize(&ours()).unwrap(), normalize(&weakened()).unwrap());
    assert!(!a.identical(&b));
    bencher.bench(|| divan::black_box(&a).diff(divan::black_box(&b)).lines());
}

/// What one Policy rule does per snapshot: normalise the account's copy and compare.
#[divan::bench]
fn normalize_and_compare(bencher: divan::Bencher) {
    let expected: Policy = normalize(&ours()).unwrap();
    let actual = reordered();
    bencher.bench(|| {
        let p = normalize(divan::black_box(&actual)).unwrap();
        expected.identical(&p)
    });
}
