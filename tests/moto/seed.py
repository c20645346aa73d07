"""Seeds one account of a moto server through the AWS API, for CloudKestrel's tests
and benchmarks. Prints the keys of an auditor user created in that account (moto maps
the keys it issues to their account) as JSON.

usage: seed.py --endpoint URL --account ID SCENARIO [--users N] [--buckets M]
"""
import argparse
import json
import os
import sys

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def policy_text(name, ips=None):
    with open(os.path.join(ROOT, "policies", f"{name}.json")) as f:
        text = f.read()
    if ips is not None:
        text = text.replace('"PARAM_1_SOURCE_IP"', json.dumps(ips))
    return text


def clients(endpoint, account):
    base = dict(endpoint_url=endpoint, region_name="us-east-1",
                aws_access_key_id="AKIASEEDER0000000000", aws_secret_access_key="seeder")
    creds = boto3.client("sts", **base).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/seeder", RoleSessionName="seed")["Credentials"]
    session = boto3.Session(aws_access_key_id=creds["AccessKeyId"],
                            aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds["SessionToken"])
    def client(service, region="us-east-1"):
        c = session.client(service, endpoint_url=endpoint, region_name=region)
        if service == "s3control":
            # S3 Control puts the account id in front of the host, which does not
            # resolve for a local endpoint: send it to the endpoint itself.
            def unprefixed(request, **_):
                request.url = request.url.replace(f"//{account}.", "//", 1)
            c.meta.events.register("before-send.s3-control.*", unprefixed)
        return c
    return client


def auditor(c):
    iam = c("iam")
    iam.create_user(UserName="cloudkestrel-auditor")
    key = iam.create_access_key(UserName="cloudkestrel-auditor")["AccessKey"]
    return {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}


def arn(account, kind, name):
    return f"arn:aws:iam::{account}:{kind}/{name}"


def enable_mfa(iam, user):
    dev = iam.create_virtual_mfa_device(VirtualMFADeviceName=user)["VirtualMFADevice"]
    iam.enable_mfa_device(UserName=user, SerialNumber=dev["SerialNumber"],
                          AuthenticationCode1="123456", AuthenticationCode2="654321")


def reordered(text):
    """The same policy: statements reversed, Sids dropped, action case changed."""
    doc = json.loads(text)
    out = []
    for s in reversed(doc["Statement"]):
        s = {k: v for k, v in s.items() if k != "Sid"}
        for key in ("Action", "NotAction"):
            if isinstance(s.get(key), list):
                s[key] = [a.upper() if i % 2 else a for i, a in enumerate(reversed(s[key]))]
        out.append(s)
    return json.dumps({"Statement": out, "Version": "2012-10-17"}, indent=1)


def setup_config(c, account, region, rules):
    cfg = c("config", region)
    s3 = c("s3", region)
    bucket = f"config-{account}-{region}"
    kw = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **kw)
    cfg.put_configuration_recorder(ConfigurationRecorder={
        "name": "default", "roleARN": arn(account, "role", "config-role"),
        "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True}})
    cfg.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": bucket})
    cfg.start_configuration_recorder(ConfigurationRecorderName="default")
    for ident in rules:
        cfg.put_config_rule(ConfigRule={
            "ConfigRuleName": ident.lower().replace("_", "-"),
            "Source": {"Owner": "AWS", "SourceIdentifier": ident}})


def mixed(c, account, args):
    """Users with and without MFA, policies through groups and directly, public and
    private buckets (one in another region), AWS Config with some rules deployed."""
    iam = c("iam")
    force = iam.create_policy(PolicyName="Force_MFA", PolicyDocument=reordered(policy_text("Force_MFA")))["Policy"]["Arn"]
    ip = iam.create_policy(PolicyName="User_Source_IP_Restrictions",
                           PolicyDocument=policy_text("User_Source_IP_Restrictions", ["195.89.85.67"]))["Policy"]["Arn"]
    iam.create_group(GroupName="DevOps")
    iam.attach_group_policy(GroupName="DevOps", PolicyArn=force)
    iam.attach_group_policy(GroupName="DevOps", PolicyArn=ip)
    iam.create_user(UserName="alice")
    iam.add_user_to_group(GroupName="DevOps", UserName="alice")
    enable_mfa(iam, "alice")
    iam.create_user(UserName="bob")
    iam.create_login_profile(UserName="bob", Password="Passw0rd!Passw0rd!")
    iam.attach_user_policy(UserName="bob", PolicyArn=force)
    iam.create_user(UserName="carol")
    iam.put_user_policy(UserName="carol", PolicyName="carol-admin", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    iam.create_policy(PolicyName="BreakGlass", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["*"], "Resource": "*"}]}))
    # IAM documents with a key written twice (IAM keeps the text): errors of that policy
    # and of what reads it, never of the whole IAM section.
    twice = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Effect": "Allow", '
             '"Action": "*", "Resource": "*"}]}')
    iam.create_policy(PolicyName="Twice", PolicyDocument=twice)
    iam.put_user_policy(UserName="carol", PolicyName="carol-twice", PolicyDocument=twice)

    s3 = c("s3")
    p = f"ck-{account}"
    s3.create_bucket(Bucket=f"{p}-private")
    s3.create_bucket(Bucket=f"{p}-public-acl")
    s3.put_bucket_acl(Bucket=f"{p}-public-acl", ACL="public-read")
    s3.create_bucket(Bucket=f"{p}-public-policy")
    s3.put_bucket_policy(Bucket=f"{p}-public-policy", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{p}-public-policy/*"}]}))
    s3.create_bucket(Bucket=f"{p}-vpc-only")
    s3.put_bucket_policy(Bucket=f"{p}-vpc-only", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:PutObject"],
         "Resource": f"arn:aws:s3:::{p}-vpc-only/*", "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-0a1b2c3d"}}}]}))
    # A policy with a key written twice (S3 stores the text as given): which "Effect" AWS
    # reads is not known, so CloudKestrel must report an error for this bucket, not a verdict.
    s3.create_bucket(Bucket=f"{p}-twice")
    s3.put_bucket_policy(Bucket=f"{p}-twice", Policy='{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", '
                         '"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", '
                         f'"Resource": "arn:aws:s3:::{p}-twice/*"}}]}}')
    eu = c("s3", "eu-west-1")
    eu.create_bucket(Bucket=f"{p}-eu-dropbox", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    owner = eu.get_bucket_acl(Bucket=f"{p}-eu-dropbox")["Owner"]
    eu.put_bucket_acl(Bucket=f"{p}-eu-dropbox", AccessControlPolicy={"Owner": owner, "Grants": [
        {"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]}, "Permission": "FULL_CONTROL"},
        {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "WRITE"}]})
    setup_config(c, account, "us-east-1", ["IAM_USER_MFA_ENABLED", "S3_BUCKET_PUBLIC_READ_PROHIBITED"])


def weaker(c, account, args):
    """Force_MFA present but subtly weaker (Bool instead of BoolIfExists); every user in
    a group with it; no buckets; no AWS Config."""
    iam = c("iam")
    text = policy_text("Force_MFA").replace("BoolIfExists", "Bool")
    force = iam.create_policy(PolicyName="Force_MFA", PolicyDocument=text)["Policy"]["Arn"]
    iam.create_group(GroupName="DevOps")
    iam.attach_group_policy(GroupName="DevOps", PolicyArn=force)
    for user in ("dave", "erin"):
        iam.create_user(UserName=user)
        iam.add_user_to_group(GroupName="DevOps", UserName=user)
        enable_mfa(iam, user)
    iam.add_user_to_group(GroupName="DevOps", UserName="cloudkestrel-auditor")


def scale(c, account, args):
    """N users and M buckets with a realistic mix, for the request-count test and the
    benchmark."""
    iam = c("iam")
    force = iam.create_policy(PolicyName="Force_MFA", PolicyDocument=policy_text("Force_MFA"))["Policy"]["Arn"]
    ip = iam.create_policy(PolicyName="User_Source_IP_Restrictions",
                           PolicyDocument=policy_text("User_Source_IP_Restrictions", ["195.89.85.67"]))["Policy"]["Arn"]
    for g in ("DevOps", "Developers", "ReadOnly"):
        iam.create_group(GroupName=g)
        iam.attach_group_policy(GroupName=g, PolicyArn=force)
    iam.attach_group_policy(GroupName="DevOps", PolicyArn=ip)
    for i in range(args.users):
        name = f"user{i:04d}"
        iam.create_user(UserName=name)
        if i % 10:
            iam.add_user_to_group(GroupName=("DevOps", "Developers", "ReadOnly")[i % 3], UserName=name)
        if i % 4 == 0:
            enable_mfa(iam, name)
        if i % 3 == 0:
            iam.create_login_profile(UserName=name, Password="Passw0rd!Passw0rd!")
        if i % 5 == 0:
            iam.create_access_key(UserName=name)
        if i % 17 == 0:
            iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}))
        if i % 23 == 0:
            iam.attach_user_policy(UserName=name, PolicyArn=ip)
    s3 = c("s3")
    for j in range(args.buckets):
        b = f"ck-{account}-b{j:03d}"
        s3.create_bucket(Bucket=b)
        if j % 10 == 1:
            s3.put_bucket_acl(Bucket=b, ACL="public-read")
        elif j % 10 == 2:
            s3.put_bucket_policy(Bucket=b, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{b}/*"}]}))
        elif j % 10 == 3:
            s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration={
                "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})


def complete(c, account, args):
    """Something in every answer collect reads, so that every operation answers 200 with
    a document (the fault-injection tests change those answers): a user with a password,
    a key and an MFA device, a group, a managed policy, a role, a password policy, the
    account's public access block, a bucket with a policy, an ACL grant, a public access
    block and ownership controls, AWS Config recording with rules."""
    iam = c("iam")
    force = iam.create_policy(PolicyName="Force_MFA", PolicyDocument=policy_text("Force_MFA"))["Policy"]["Arn"]
    iam.create_group(GroupName="DevOps")
    iam.attach_group_policy(GroupName="DevOps", PolicyArn=force)
    iam.create_user(UserName="alice")
    iam.add_user_to_group(GroupName="DevOps", UserName="alice")
    iam.create_login_profile(UserName="alice", Password="Passw0rd!Passw0rd!")
    iam.create_access_key(UserName="alice")
    enable_mfa(iam, "alice")
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    iam.update_account_password_policy(MinimumPasswordLength=14, RequireSymbols=True)
    c("s3control").put_public_access_block(AccountId=account, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": False, "RestrictPublicBuckets": False})
    s3 = c("s3")
    b = f"ck-{account}-complete"
    s3.create_bucket(Bucket=b)
    s3.put_bucket_policy(Bucket=b, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{b}/*"}]}))
    s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_ownership_controls(Bucket=b, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]})
    # Outside the home region: its region comes from GetBucketLocation.
    c("s3", "eu-west-1").create_bucket(Bucket=f"{b}-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    setup_config(c, account, "us-east-1", ["IAM_USER_MFA_ENABLED", "S3_BUCKET_PUBLIC_READ_PROHIBITED"])


def organization(c, account, args):
    """An AWS Organization managed from this account: members in nested units (root,
    prod, prod/eu), one of them closed (SUSPENDED), each seeded with a user of its own
    (user-<label>, no MFA, then --users more) and --buckets buckets (at least one), so
    that a test sees whose data lands where. --members N other than 4 makes N members
    instead, round-robin in the units, none closed (the benchmark). Returns the ids of the members and units."""
    org = c("organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    prod = org.create_organizational_unit(ParentId=root, Name="prod")["OrganizationalUnit"]["Id"]
    eu = org.create_organizational_unit(ParentId=prod, Name="eu")["OrganizationalUnit"]["Id"]
    units = {"root": root, "prod": prod, "prod_eu": eu}
    placement = [("m1", prod), ("m2", eu), ("m3", root), ("m4", prod)]
    if args.members != 4:
        placement = [(f"m{i + 1}", (prod, eu, root)[i % 3]) for i in range(args.members)]
    members = {}
    for label, parent in placement:
        status = org.create_account(Email=f"{label}-{account}@example.com", AccountName=f"member {label}")
        member = status["CreateAccountStatus"]["AccountId"]
        org.move_account(AccountId=member, SourceParentId=root, DestinationParentId=parent)
        members[label] = member
        mc = member_clients(c, member)
        iam = mc("iam")
        for u in range(max(args.users, 1)):
            iam.create_user(UserName=f"user-{label}" if u == 0 else f"user-{label}-{u}")
        s3 = mc("s3")
        for b in range(max(args.buckets, 1)):
            s3.create_bucket(Bucket=f"ck-{member}-b{b}")
    if args.members == 4:
        org.close_account(AccountId=members["m4"])
    return {"members": members, "units": units}


def member_clients(c, member):
    """Clients acting in a member account, through its OrganizationAccountAccessRole."""
    creds = c("sts").assume_role(RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole",
                                 RoleSessionName="seed")["Credentials"]
    session = boto3.Session(aws_access_key_id=creds["AccessKeyId"],
                            aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds["SessionToken"])
    endpoint = c("sts").meta.endpoint_url
    return lambda service, region="us-east-1": session.client(
        service, endpoint_url=endpoint, region_name=region)


SCENARIOS = {"mixed": mixed, "weaker": weaker, "scale": scale, "complete": complete,
             "organization": organization}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--account", required=True)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--buckets", type=int, default=0)
    ap.add_argument("--members", type=int, default=4)
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    args = ap.parse_args()
    c = clients(args.endpoint, args.account)
    keys = auditor(c)
    extra = SCENARIOS[args.scenario](c, args.account, args)
    json.dump({**keys, **(extra or {})}, sys.stdout)


if __name__ == "__main__":
    main()
