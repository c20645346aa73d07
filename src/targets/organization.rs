//! `Organization` entries: one entry of targets.json that stands for the accounts of an
//! AWS Organization, discovered when collecting (the only part of targets that calls
//! AWS), each audited as a target of its own named `<entry>-<account id>`.
//!
//! The entry's own access (`Credentials`, `Profile`, `RoleArn` or the default chain) is
//! that of the management account or a delegated administrator. Its account is audited
//! with that access; every other member through `arn:<partition>:iam::<id>:role/<RoleName>`
//! (with `ExternalId` if given), assumed from it.
//!
//! Discovery: `DescribeOrganization`, then `ListAccounts`, or, for the
//! `OrganizationalUnits` given, `ListAccountsForParent` and `ListChildren` down every
//! nested unit. `Accounts` adds accounts by id, `ExcludeAccounts` removes them; with
//! neither `OrganizationalUnits` nor `Accounts`, every account is audited. An account
//! whose state is not ACTIVE (suspended, closing, closed) is not audited and is named.

// A Problem is the error of discovery, as of every collector: built at most once per
// request, never on a hot path.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_organizations::types::ChildType;

use super::{AssumeRole, Member, Target};
use crate::collect::aws::{malformed, problem, required, ApiCounter, Connection, PageTrail};
use crate::model::{Problem, Section};

/// An `Organization` entry of targets.json.
#[derive(Debug, Clone)]
pub struct Organization {
    /// The entry's name: its members are `<name>-<account id>`.
    pub name: String,
    /// How the entry reaches the organization (its credentials, profile, roles,
    /// regions) and what every member is audited for (its rules).
    pub access: Target,
    /// The role assumed in every member account but the entry's own.
    pub role_name: String,
    pub external_id: Option<String>,
    /// Organizational units (`ou-…`) or roots (`r-…`) whose accounts, nested units
    /// included, are audited.
    pub units: Vec<String>,
    /// Accounts audited by id (with or without units).
    pub accounts: Vec<String>,
    /// Accounts never audited.
    pub exclude: Vec<String>,
}

/// An account of an organization as discovery found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgAccount {
    pub id: String,
    pub name: Option<String>,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, `CLOSED`… (its `State`, or the older
    /// `Status` where an answer has no `State`).
    pub state: String,
}

/// What discovery found for one entry.
#[derive(Debug)]
pub struct Discovered {
    /// The members to audit, by account id.
    pub members: Vec<Target>,
    /// Accounts chosen but not audited (not ACTIVE), with their state.
    pub skipped: Vec<OrgAccount>,
    /// Accounts named in `Accounts` that the organization (or the units) does not
    /// hold: a problem, since what was asked for cannot be audited.
    pub missing: Vec<String>,
    /// Requests discovery made.
    pub requests: u64,
}

impl Organization {
    /// The target of member `account_id`: the entry's access and rules, plus (unless it
    /// is `own_account`, the entry's own account) the member role in `partition`.
    pub fn member(
        &self,
        account_id: &str,
        account_name: Option<String>,
        own_account: Option<&str>,
        partition: &str,
    ) -> Target {
        let mut t = self.access.clone();
        t.name = format!("{}-{account_id}", self.name);
        if own_account != Some(account_id) {
            t.roles.push(AssumeRole {
                arn: format!("arn:{partition}:iam::{account_id}:role/{}", self.role_name),
                external_id: self.external_id.clone(),
            });
        }
        t.member = Some(Member {
            entry: self.name.clone(),
            account_id: account_id.to_string(),
            account_name,
        });
        t
    }

    /// Which of the organization's accounts the entry audits, and which it skips.
    pub fn choose(
        &self,
        all: &[OrgAccount],
        in_units: Option<&BTreeSet<String>>,
    ) -> (Vec<OrgAccount>, Vec<OrgAccount>, Vec<String>) {
        let listed: BTreeSet<&str> = self.accounts.iter().map(String::as_str).collect();
        let excluded: BTreeSet<&str> = self.exclude.iter().map(String::as_str).collect();
        let everything = self.units.is_empty() && self.accounts.is_empty();
        let mut chosen: Vec<OrgAccount> = all
            .iter()
            .filter(|a| {
                everything
                    || listed.contains(a.id.as_str())
                    || in_units.is_some_and(|u| u.contains(&a.id))
            })
            .filter(|a| !excluded.contains(a.id.as_str()))
            .cloned()
            .collect();
        chosen.sort_by(|a, b| a.id.cmp(&b.id));
        chosen.dedup_by(|a, b| a.id == b.id);
        let missing = listed
            .iter()
            .filter(|id| !all.iter().any(|a| a.id == **id))
            .map(|id| id.to_string())
            .collect();
        let (active, skipped) = chosen.into_iter().partition(|a| a.state == "ACTIVE");
        (active, skipped, missing)
    }
}

const OP_DESCRIBE: &str = "organizations:DescribeOrganization";
const OP_ACCOUNTS: &str = "organizations:ListAccounts";
const OP_FOR_PARENT: &str = "organizations:ListAccountsForParent";
const OP_CHILDREN: &str = "organizations:ListChildren";

fn org_problem(operation: &str, message: impl Into<String>) -> Problem {
    malformed(Section::Identity, operation, message)
}

/// An account of an answer, its required members checked (Id, and State or Status).
fn org_account(a: &aws_sdk_organizations::types::Account, op: &str) -> Result<OrgAccount, Problem> {
    let id = required(a.id(), Section::Identity, op, || "an account's Id".into())?;
    if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(org_problem(
            op,
            format!("the account id {id:?} is not 12 digits"),
        ));
    }
    let state = a
        .state()
        .map(|s| s.as_str().to_string())
        .or_else(|| a.status().map(|s| s.as_str().to_string()))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| org_problem(op, format!("account {id} has neither State nor Status")))?;
    Ok(OrgAccount {
        id: id.to_string(),
        name: a.name().map(str::to_string),
        state,
    })
}

/// Discovers the members of `org`: its access is set up (credentials, roles) and the
/// organization read. A failure is the problem of the entry (its members cannot be
/// known); `own_account` and `partition` are the entry's caller's.
pub async fn discover(org: &Organization, conn: &Connection) -> Result<Discovered, Problem> {
    let regions = crate::collect::regions_for(&org.access, conn).await;
    let counter = ApiCounter::default();
    let sdk = crate::collect::aws::sdk_config(&org.access, conn, &regions[0], &counter).await?;
    let clients =
        crate::collect::aws::Clients::new(sdk, conn.endpoint_url.clone(), counter.clone());
    let (own_account, caller_arn) = crate::collect::iam::collect_identity(&clients.sts).await?;
    let partition = caller_arn.split(':').nth(1).unwrap_or("aws").to_string();
    let client = clients.organizations();
    client
        .describe_organization()
        .send()
        .await
        .map_err(|e| problem(Section::Identity, OP_DESCRIBE, &e))
        .and_then(|out| {
            required(out.organization(), Section::Identity, OP_DESCRIBE, || {
                "the Organization".into()
            })
            .map(|_| ())
        })?;
    let mut all = Vec::new();
    let mut pages = client.list_accounts().into_paginator().send();
    let mut trail = PageTrail::default();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| problem(Section::Identity, OP_ACCOUNTS, &e))?;
        trail
            .token(page.next_token())
            .map_err(|e| org_problem(OP_ACCOUNTS, e))?;
        for a in page.accounts() {
            all.push(org_account(a, OP_ACCOUNTS)?);
        }
    }
    let in_units = if org.units.is_empty() {
        None
    } else {
        Some(accounts_under(&client, &org.units).await?)
    };
    let (active, skipped, missing) = org.choose(&all, in_units.as_ref());
    let members = active
        .into_iter()
        .map(|a| org.member(&a.id, a.name, Some(&own_account), &partition))
        .collect();
    Ok(Discovered {
        members,
        skipped,
        missing,
        requests: counter.total(),
    })
}

/// The ids of the accounts under `units`, nested units included (ListAccountsForParent
/// gives a unit's own accounts only; ListChildren its units).
async fn accounts_under(
    client: &aws_sdk_organizations::Client,
    units: &[String],
) -> Result<BTreeSet<String>, Problem> {
    let mut found = BTreeSet::new();
    let mut todo: Vec<String> = units.to_vec();
    let mut seen: BTreeMap<String, ()> = BTreeMap::new();
    while let Some(unit) = todo.pop() {
        if seen.insert(unit.clone(), ()).is_some() {
            continue;
        }
        let mut pages = client
            .list_accounts_for_parent()
            .parent_id(&unit)
            .into_paginator()
            .send();
        let mut trail = PageTrail::default();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                let mut p = problem(Section::Identity, OP_FOR_PARENT, &e);
                p.message = format!("{unit}: {}", p.message);
                p
            })?;
            trail
                .token(page.next_token())
                .map_err(|e| org_problem(OP_FOR_PARENT, e))?;
            for a in page.accounts() {
                found.insert(org_account(a, OP_FOR_PARENT)?.id);
            }
        }
        let mut pages = client
            .list_children()
            .parent_id(&unit)
            .child_type(ChildType::OrganizationalUnit)
            .into_paginator()
            .send();
        let mut trail = PageTrail::default();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| problem(Section::Identity, OP_CHILDREN, &e))?;
            trail
                .token(page.next_token())
                .map_err(|e| org_problem(OP_CHILDREN, e))?;
            for c in page.children() {
                let id = required(c.id(), Section::Identity, OP_CHILDREN, || {
                    "a child's Id".into()
                })?;
                todo.push(id.to_string());
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, state: &str) -> OrgAccount {
        OrgAccount {
            id: id.into(),
            name: Some(format!("n{id}")),
            state: state.into(),
        }
    }

    fn org(units: &[&str], accounts: &[&str], exclude: &[&str]) -> Organization {
        let t: crate::targets::Targets = crate::targets::parse(
            std::path::Path::new("t.json"),
            r#"{"Targets": [{"x": {"Rules": [{"Policy": {"Name": "Force_MFA"}}]}}]}"#,
        )
        .unwrap();
        Organization {
            name: "org".into(),
            access: t.targets[0].clone(),
            role_name: "Audit".into(),
            external_id: Some("e".into()),
            units: units.iter().map(|s| s.to_string()).collect(),
            accounts: accounts.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn filters_choose_accounts_and_skip_inactive_ones() {
        let all = [
            account("111111111111", "ACTIVE"),
            account("222222222222", "ACTIVE"),
            account("333333333333", "SUSPENDED"),
            account("444444444444", "ACTIVE"),
        ];
        let ids = |v: &[OrgAccount]| v.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
        let (a, s, m) = org(&[], &[], &[]).choose(&all, None);
        assert_eq!(ids(&a), ["111111111111", "222222222222", "444444444444"]);
        assert_eq!(ids(&s), ["333333333333"]);
        assert!(m.is_empty());
        let units: BTreeSet<String> =
            ["222222222222".to_string(), "333333333333".to_string()].into();
        let (a, s, _) = org(&["ou-x"], &["444444444444"], &[]).choose(&all, Some(&units));
        assert_eq!(ids(&a), ["222222222222", "444444444444"]);
        assert_eq!(ids(&s), ["333333333333"]);
        let (a, _, m) =
            org(&[], &["111111111111", "999999999999"], &["111111111111"]).choose(&all, None);
        assert!(a.is_empty());
        assert_eq!(m, ["999999999999"]);
    }

    #[test]
    fn members_assume_the_role_except_in_the_entrys_own_account() {
        let o = org(&[], &[], &[]);
        let own = o.member(
            "111111111111",
            Some("management".into()),
            Some("111111111111"),
            "aws",
        );
        assert_eq!(own.name, "org-111111111111");
        assert!(own.roles.is_empty());
        let other = o.member("222222222222", None, Some("111111111111"), "aws-cn");
        assert_eq!(
            other.roles,
            [AssumeRole {
                arn: "arn:aws-cn:iam::222222222222:role/Audit".into(),
                external_id: Some("e".into())
            }]
        );
        assert_eq!(other.expected_account(), Some("222222222222"));
    }
}
