//! The examples of auditing an organization on a scheduler, examples/organizations/: a
//! GitHub Actions matrix (github-actions.yml), a Kubernetes Indexed Job
//! (k8s-indexed-job.yaml), the image it runs (Dockerfile) and the Organization entry
//! both read (targets.json).
//!
//! Each file is parsed as YAML (PyYAML, tests/ci_formats/yaml_to_json.py) and held
//! together: as many shards as jobs, the directory collect writes is the one uploaded,
//! the one downloaded is the one evaluate reads, a failed shard fails the run. Then
//! the examples' own command lines run against moto's organization (tests/moto/seed.py
//! `organization`): every shard of both examples, the snapshots merged into one
//! directory as `aws s3 sync` would, and the workflow's evaluate, offline.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use support::examples::{
    assert_no_keys, assert_real_options, assert_valid_github_workflow, commands, commands_in,
    option, python,
};
use support::root;

const GITHUB: &str = "examples/organizations/github-actions.yml";
const K8S: &str = "examples/organizations/k8s-indexed-job.yaml";
const TARGETS: &str = "examples/organizations/targets.json";

/// How collect's command line in the workflow names the matrix's shard.
const MATRIX_SHARD: &str = "${{ matrix.shard }}";

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap()
}

fn workflow() -> Value {
    let path = root().join(GITHUB);
    python("yaml_to_json.py", &[&path])[path.to_str().unwrap()].clone()
}

/// The manifest's documents by kind.
fn manifest() -> BTreeMap<String, Value> {
    let path = root().join(K8S);
    let docs = python(
        "yaml_to_json.py",
        &[std::ffi::OsStr::new("--all"), path.as_os_str()],
    );
    docs[path.to_str().unwrap()]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["kind"].as_str().unwrap().to_string(), d.clone()))
        .collect()
}

/// The run scripts of a job's steps, the matrix's shard written `{shard}`.
fn scripts(job: &Value) -> Vec<String> {
    job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .map(|r| r.replace(MATRIX_SHARD, "{shard}"))
        .collect()
}

/// The one `cloudkestrel SUB` command line of some scripts.
fn the_command(scripts: &[String], sub: &str) -> Vec<String> {
    let found: Vec<Vec<String>> = scripts
        .iter()
        .flat_map(|s| commands(s))
        .filter(|(s, _)| s == sub)
        .map(|(_, a)| a)
        .collect();
    assert_eq!(found.len(), 1, "one cloudkestrel {sub}: {scripts:?}");
    found[0].clone()
}

/// Every `aws s3 sync FROM TO` of some scripts, quotes and a trailing `/` removed.
fn syncs(scripts: &[String]) -> Vec<(String, String)> {
    let clean = |w: &str| w.trim_matches('"').trim_end_matches('/').to_string();
    scripts
        .iter()
        .flat_map(|s| s.lines())
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let at = w.windows(3).position(|x| x == ["aws", "s3", "sync"])?;
            Some((clean(w[at + 3]), clean(w[at + 4])))
        })
        .collect()
}

fn the_cargo_install(text: &str) -> String {
    let line = text
        .lines()
        .find(|l| l.contains("install --locked --git"))
        .expect("cloudkestrel is built with cargo install");
    line[line.find("install").unwrap()..].trim().to_string()
}

#[test]
fn the_workflow_shards_collect_and_evaluates_all_shards_offline() {
    let gh = workflow();
    let jobs = &gh["jobs"];
    let (collect, evaluate, gate) = (&jobs["collect"], &jobs["evaluate"], &jobs["gate"]);
    // As many jobs in the matrix as the N of --shard K/N, K each of 1..=N.
    let shards: Vec<&str> = collect["strategy"]["matrix"]["shard"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let n = shards.len();
    let expected: Vec<String> = (1..=n).map(|k| k.to_string()).collect();
    assert_eq!(shards, expected);
    let c = the_command(&scripts(collect), "collect");
    assert_eq!(option(&c, "shard"), Some(format!("{{shard}}/{n}").as_str()));
    assert_eq!(collect["strategy"]["fail-fast"], "false");
    // What collect writes is uploaded, under one prefix per run; what is downloaded is
    // what evaluate reads, all of it, offline.
    let prefix = gh["env"]["SNAPSHOTS"].as_str().unwrap();
    assert!(
        prefix.starts_with("s3://") && prefix.contains("${{ github.run_id }}"),
        "{prefix}"
    );
    let dir = option(&c, "snapshot-dir").unwrap().to_string();
    assert_eq!(syncs(&scripts(collect)), [(dir, "$SNAPSHOTS".to_string())]);
    let e = the_command(&scripts(evaluate), "evaluate");
    let dir = option(&e, "snapshot-dir").unwrap().to_string();
    assert_eq!(syncs(&scripts(evaluate)), [("$SNAPSHOTS".to_string(), dir)]);
    assert_eq!(option(&e, "targets"), option(&c, "targets"));
    for offline in ["endpoint-url", "shard", "region"] {
        assert_eq!(option(&e, offline), None, "evaluate --{offline}");
    }
    // The gate as in examples/ci: new failures against the last green run's reports.
    assert_eq!(option(&e, "fail-on"), Some("new"));
    assert!(option(&e, "baseline").is_some());
    // A shard that did not collect completely is red after uploading, and fails the run;
    // the evaluation runs all the same.
    let steps = collect["steps"].as_array().unwrap();
    let last = steps.last().unwrap();
    assert_eq!(last["run"], "exit \"$EXIT\"");
    assert_eq!(last["env"]["EXIT"], "${{ steps.collect.outputs.exit }}");
    let upload = steps
        .iter()
        .position(|s| s["run"].as_str().is_some_and(|r| r.contains("aws s3 sync")));
    assert!(upload.is_some_and(|u| u + 1 == steps.len() - 1));
    assert_eq!(evaluate["needs"], "collect");
    assert_eq!(evaluate["if"], "${{ !cancelled() }}");
    assert_eq!(gate["if"], "always()");
    assert_eq!(
        gate["steps"][0]["env"]["COLLECT"],
        "${{ needs.collect.result }}"
    );
    let verdict = gate["steps"][0]["run"].as_str().unwrap();
    assert!(
        verdict.contains("if [ \"$COLLECT\" != success ]; then"),
        "{verdict}"
    );
    // Credentials through OIDC in both; the binary built as examples/ci builds it,
    // once, and restored from the cache by every other job.
    for job in [collect, evaluate] {
        assert_eq!(job["permissions"]["id-token"], "write");
        let uses: Vec<&Value> = job["steps"].as_array().unwrap().iter().collect();
        let aws = uses
            .iter()
            .find(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("aws-actions/configure-aws-credentials@"))
            })
            .expect("OIDC credentials");
        assert_eq!(
            aws["with"]["role-to-assume"],
            "${{ vars.CLOUDKESTREL_ROLE_ARN }}"
        );
        let restore = uses
            .iter()
            .find(|s| s["uses"] == "actions/cache/restore@v5")
            .expect("the binary from the cache");
        assert_eq!(
            restore["with"]["key"],
            jobs["build"]["steps"][0]["with"]["key"]
        );
        assert_eq!(restore["with"]["fail-on-cache-miss"], "true");
    }
    assert_eq!(
        the_cargo_install(&read(GITHUB)),
        the_cargo_install(&read("examples/ci/github-actions.yml"))
    );
    assert_no_keys(&root().join(GITHUB));
    assert_valid_github_workflow(&root().join(GITHUB));
    assert_real_options(&commands_in(&[&gh]));
}

#[test]
fn the_indexed_job_shards_by_its_completion_index() {
    let docs = manifest();
    let job = &docs["Job"]["spec"];
    let pod = &job["template"]["spec"];
    assert_eq!(job["completionMode"], "Indexed");
    let n: u64 = job["completions"].as_str().unwrap().parse().unwrap();
    let parallelism: u64 = job["parallelism"].as_str().unwrap().parse().unwrap();
    assert!((1..=n).contains(&parallelism));
    let collect = &pod["initContainers"][0];
    let upload = &pod["containers"][0];
    let script = collect["args"][0].as_str().unwrap();
    let c = the_command(&[script.to_string()], "collect");
    // N alone: K is JOB_COMPLETION_INDEX plus one.
    assert_eq!(option(&c, "shard"), Some(n.to_string().as_str()));
    // targets.json from the ConfigMap, the same as examples/organizations/targets.json.
    let mounts = |container: &Value| -> BTreeMap<String, String> {
        container["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let path = m["mountPath"].as_str().unwrap().to_string();
                (m["name"].as_str().unwrap().to_string(), path)
            })
            .collect()
    };
    let volume = |name: &str| {
        pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .unwrap()
            .clone()
    };
    let targets = Path::new(option(&c, "targets").unwrap());
    let (name, at) = mounts(collect)
        .into_iter()
        .find(|(_, p)| targets.parent() == Some(Path::new(p)))
        .expect("--targets in a mounted volume");
    let map = &docs["ConfigMap"];
    assert_eq!(volume(&name)["configMap"]["name"], map["metadata"]["name"]);
    let file = targets.strip_prefix(&at).unwrap().to_str().unwrap();
    let inside: Value = serde_json::from_str(map["data"][file].as_str().unwrap()).unwrap();
    let shipped: Value = serde_json::from_str(&read(TARGETS)).unwrap();
    assert_eq!(inside, shipped);
    // The snapshots pass to the upload container in one emptyDir, at one path, and its
    // exit code is collect's once they are uploaded.
    let snapshots = option(&c, "snapshot-dir").unwrap();
    let (work, at) = mounts(collect)
        .into_iter()
        .find(|(_, p)| snapshots.starts_with(p.as_str()))
        .expect("--snapshot-dir in a mounted volume");
    assert!(volume(&work).get("emptyDir").is_some());
    assert_eq!(mounts(upload).get(&work), Some(&at));
    let sent = upload["args"][0].as_str().unwrap();
    let sent_syncs = syncs(&[sent.to_string()]);
    let [(from, to)] = &sent_syncs[..] else {
        panic!("one aws s3 sync: {sent}");
    };
    assert_eq!(from, snapshots);
    assert!(to.starts_with("s3://") && to.contains("$RUN"), "{to}");
    let run = upload["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "RUN")
        .unwrap();
    assert_eq!(
        run["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.labels['batch.kubernetes.io/controller-uid']"
    );
    let kept = script.lines().last().unwrap();
    let file = kept.rsplit_once("> ").unwrap().1;
    assert_eq!(kept, format!("echo \"$?\" > {file}"));
    assert_eq!(
        sent.lines().last().unwrap(),
        format!("exit \"$(cat {file})\"")
    );
    // Exit 3 is not retried (collect recorded what it could not read); the policy
    // names the container that ends with it. podFailurePolicy needs restartPolicy Never.
    let rule = &job["podFailurePolicy"]["rules"][0];
    assert_eq!(rule["action"], "FailIndex");
    assert_eq!(rule["onExitCodes"]["containerName"], upload["name"]);
    assert_eq!(rule["onExitCodes"]["values"][0], "3");
    assert_eq!(pod["restartPolicy"], "Never");
    assert!(job["backoffLimitPerIndex"].is_string());
    // Credentials: IRSA, through the ServiceAccount the pods run as.
    let sa = &docs["ServiceAccount"];
    assert_eq!(pod["serviceAccountName"], sa["metadata"]["name"]);
    let arn = sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        .as_str()
        .unwrap();
    assert!(
        arn.starts_with("arn:aws:iam::") && arn.contains(":role/"),
        "{arn}"
    );
    assert_no_keys(&root().join(K8S));
    let all: Vec<&Value> = docs.values().collect();
    assert_real_options(&commands_in(&all));
    // The image: built as the CI examples build it, run on the Debian it was built on.
    let dockerfile = read("examples/organizations/Dockerfile");
    assert_eq!(
        the_cargo_install(&dockerfile),
        the_cargo_install(&read(GITHUB))
    );
    let from: Vec<&str> = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("FROM "))
        .collect();
    assert_eq!(from, ["rust:1-bookworm AS build", "debian:bookworm-slim"]);
}

/// The words of an example's command line, for running it here: its paths under `dir`.
fn localised(args: &[String], paths: &[(&str, &Path)]) -> Vec<String> {
    args.iter()
        .map(|a| {
            for (from, to) in paths {
                if let Some(rest) = a.strip_prefix(from) {
                    return to.join(rest.trim_start_matches('/')).display().to_string();
                }
            }
            a.clone()
        })
        .collect()
}

/// The target directories under a snapshot directory.
/// The snapshot directories (targets) collect wrote into `dir` (beside them, each
/// entry's record of its accounts, `<entry>.accounts.json`).
fn collected(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(Result::unwrap)
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn the_examples_commands_audit_an_organization_on_moto() {
    use support::moto::{account_id, ck, ck_moto, seed};
    let keys = seed(&account_id(), "organization", &["--users", "1"]);
    let creds = [
        ("AWS_ACCESS_KEY_ID", keys.id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", keys.secret.as_str()),
    ];
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    support::write(d, "targets.json", &read(TARGETS));
    let endpoint = support::moto::endpoint();
    let listing = [
        "targets",
        "--endpoint-url",
        &endpoint,
        "--region",
        "us-east-1",
    ];
    let t = ck(d, &listing, &creds);
    assert_eq!(t.status.code(), Some(0), "{}", support::stderr(&t));
    let accounts: Vec<String> = support::stdout(&t)
        .lines()
        .filter_map(|l| l.strip_prefix("org-"))
        .map(|l| format!("org-{}", &l[..12]))
        .collect();
    assert_eq!(
        accounts.len(),
        4,
        "the management account and 3 active members"
    );

    // GitHub: each job of the matrix, K from the matrix.
    let gh = workflow();
    let c = the_command(&scripts(&gh["jobs"]["collect"]), "collect");
    let mut github: BTreeMap<String, usize> = BTreeMap::new();
    let shards = gh["jobs"]["collect"]["strategy"]["matrix"]["shard"]
        .as_array()
        .unwrap();
    for (i, k) in shards.iter().enumerate() {
        let job = d.join(format!("github-{k}", k = k.as_str().unwrap()));
        std::fs::create_dir_all(&job).unwrap();
        std::fs::copy(d.join("targets.json"), job.join("targets.json")).unwrap();
        let args: Vec<String> = c
            .iter()
            .map(|a| a.replace("{shard}", k.as_str().unwrap()))
            .collect();
        let mut all = vec!["collect"];
        all.extend(args.iter().map(String::as_str));
        let o = ck_moto(&job, &all, &creds);
        assert_eq!(o.status.code(), Some(0), "{}", support::stderr(&o));
        let dir = job.join(option(&args, "snapshot-dir").unwrap());
        for name in collected(&dir) {
            assert!(github.insert(name, i).is_none(), "in two shards");
        }
        // `aws s3 sync` up, then down: one directory for all (a shard may hold no
        // account: the workflow makes the directory before syncing).
        let merged = d
            .join("evaluate")
            .join(option(&args, "snapshot-dir").unwrap());
        std::fs::create_dir_all(&merged).unwrap();
        if dir.is_dir() {
            copy_tree(&dir, &merged);
        }
    }
    assert_eq!(github.keys().cloned().collect::<Vec<_>>(), accounts);

    // Kubernetes: each index of the Job, K from JOB_COMPLETION_INDEX, its paths here.
    let docs = manifest();
    let job = &docs["Job"]["spec"];
    let script = job["template"]["spec"]["initContainers"][0]["args"][0]
        .as_str()
        .unwrap();
    let c = the_command(&[script.to_string()], "collect");
    let n: usize = job["completions"].as_str().unwrap().parse().unwrap();
    assert_eq!(n, shards.len(), "the two examples split alike");
    for index in 0..n {
        let pod = d.join(format!("pod-{index}"));
        support::write(&pod, "config/targets.json", &read(TARGETS));
        let args = localised(&c, &[("/config", &pod.join("config")), ("/work", &pod)]);
        let mut all = vec!["collect"];
        all.extend(args.iter().map(String::as_str));
        let index_var = index.to_string();
        let mut env = creds.to_vec();
        env.push(("JOB_COMPLETION_INDEX", &index_var));
        let o = ck_moto(&pod, &all, &env);
        assert_eq!(o.status.code(), Some(0), "{}", support::stderr(&o));
        // Index i (0-based) is the matrix's shard i + 1: the same accounts.
        let here = collected(Path::new(option(&args, "snapshot-dir").unwrap()));
        let there: Vec<String> = github
            .iter()
            .filter(|(_, s)| **s == index)
            .map(|(a, _)| a.clone())
            .collect();
        assert_eq!(here, there, "index {index}");
    }

    // The workflow's evaluate, offline (no credentials, no endpoint), over the merged
    // directory: every account, and the summary the workflow's Summary step reads.
    let e = the_command(&scripts(&gh["jobs"]["evaluate"]), "evaluate");
    let at: PathBuf = d.join("evaluate");
    std::fs::create_dir_all(at.join(option(&e, "baseline").unwrap())).unwrap();
    std::fs::copy(d.join("targets.json"), at.join("targets.json")).unwrap();
    let mut all = vec!["evaluate"];
    all.extend(e.iter().map(String::as_str));
    let o = ck(&at, &all, &[]);
    // Findings (users without MFA), every one new, nothing in error.
    assert_eq!(o.status.code(), Some(1), "{}", support::stderr(&o));
    let reports = at.join(option(&e, "report-dir").unwrap());
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("summary.json")).unwrap())
            .unwrap();
    let listed: Vec<&str> = summary["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, accounts);
    assert_eq!(summary["totals"]["error"], 0);
    assert!(reports.join("index.html").is_file());
    let step = gh["jobs"]["evaluate"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Summary")
        .unwrap();
    let jq = step["run"].as_str().unwrap();
    let fields: Vec<&str> = jq
        .split("\\(.totals.")
        .skip(1)
        .map(|s| s.split(')').next().unwrap())
        .collect();
    assert_eq!(fields, ["targets", "error", "fail", "pass"]);
    for f in fields {
        assert!(summary["totals"][f].is_u64(), "{f}: {summary}");
    }
}
