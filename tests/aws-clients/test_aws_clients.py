#!/usr/bin/env python3
"""boto3 and the AWS CLI v1 against iamd's AWS Query front door (see ./run). Prints each check and
`N passed, M failed`; exits 1 on any failure."""
import argparse, datetime, json, os, shlex, subprocess, sys, time, traceback, urllib.parse
from unittest import mock

import boto3, botocore, urllib3
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

ap = argparse.ArgumentParser()
ap.add_argument("--endpoint", required=True)
ap.add_argument("--ca", required=True)
ap.add_argument("--root", required=True)
ap.add_argument("--work", required=True)
ap.add_argument("--aws-cli", action="append", default=[],
                help="an `aws` command to run the origin scenario with, e.g. '/usr/bin/aws' or 'python3 -m awscli' "
                     "(repeatable; default: `aws` on PATH)")
args = ap.parse_args()
root = json.load(open(args.root))
ROOT = (root["accessKeyId"], root["secretAccessKey"])
ACCOUNT = "123456789012"
results = {"passed": 0, "failed": 0}
called = set()


def check(name, fn):
    try:
        fn()
        results["passed"] += 1
        print(f"ok   {name}")
    except Exception:
        results["failed"] += 1
        print(f"FAIL {name}\n" + "".join("     " + l for l in traceback.format_exc().splitlines(True)))


def client(service, key=ROOT, token=None, region="us-east-1"):
    c = boto3.client(service, endpoint_url=args.endpoint, verify=args.ca, region_name=region,
                     aws_access_key_id=key[0], aws_secret_access_key=key[1], aws_session_token=token,
                     config=Config(retries={"max_attempts": 1}))
    c.meta.events.register("before-call", lambda model=None, **kw: called.add(model.name))
    return c


def expect_error(code, fn, status=None):
    try:
        fn()
    except ClientError as e:
        got = e.response["Error"]["Code"]
        assert got == code, f"expected {code}, got {got}: {e}"
        if status is not None:
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == status, e.response["ResponseMetadata"]
        return e
    raise AssertionError(f"expected {code}, the call succeeded")


iam = client("iam")
sts = client("sts")
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
    "AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole",
    "Condition": {"StringLike": {"sts:RoleSessionName": "a+b*"}}}]})
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "Read", "Effect": "Allow",
    "Action": ["s3:GetObject", "iam:Get*"], "Resource": "*", "Condition": {"StringEquals": {"aws:username": "x+y"}}}]})
POLICY2 = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})


def users():
    r = iam.create_user(UserName="alice", Path="/team/", Tags=[{"Key": "dept", "Value": "eng"}])
    u = r["User"]
    assert u["UserName"] == "alice" and u["Path"] == "/team/", u
    assert u["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/team/alice", u
    assert u["UserId"].startswith("AIDA") and isinstance(u["CreateDate"], datetime.datetime)
    assert u["Tags"] == [{"Key": "dept", "Value": "eng"}], u
    g = iam.get_user(UserName="alice")["User"]
    assert g["UserId"] == u["UserId"] and g["CreateDate"] == u["CreateDate"]
    listed = iam.list_users(PathPrefix="/team/")["Users"]
    assert [x["UserName"] for x in listed] == ["alice"]
    # AWS's listings return a subset of the attributes: no Tags or PermissionsBoundary (GetUser has them).
    assert "Tags" not in listed[0] and "PermissionsBoundary" not in listed[0], listed
    assert g["Tags"] == [{"Key": "dept", "Value": "eng"}], g
    iam.create_user(UserName="tmp")
    iam.update_user(UserName="tmp", NewUserName="tmp2", NewPath="/x/")
    assert iam.get_user(UserName="tmp2")["User"]["Path"] == "/x/"
    iam.tag_user(UserName="tmp2", Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    assert sorted(t["Key"] for t in iam.list_user_tags(UserName="tmp2")["Tags"]) == ["a", "b"]
    iam.untag_user(UserName="tmp2", TagKeys=["a"])
    assert [t["Key"] for t in iam.list_user_tags(UserName="tmp2")["Tags"]] == ["b"]
    iam.delete_user(UserName="tmp2")
    expect_error("NoSuchEntity", lambda: iam.get_user(UserName="tmp2"), 404)
    expect_error("EntityAlreadyExists", lambda: iam.create_user(UserName="alice"), 409)


def policies():
    p = iam.create_policy(PolicyName="read", PolicyDocument=POLICY, Description="d", Path="/p/")["Policy"]
    assert p["Arn"] == f"arn:aws:iam::{ACCOUNT}:policy/p/read" and p["DefaultVersionId"] == "v1", p
    assert p["AttachmentCount"] == 0 and p["IsAttachable"] is True, p
    arn = p["Arn"]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["PolicyName"] == "read"
    assert any(x["Arn"] == arn for x in iam.list_policies(Scope="Local")["Policies"])
    v = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert v["Document"] == json.loads(POLICY), v["Document"]  # boto3 URL-decodes and parses; + survives
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=POLICY2, SetAsDefault=False)
    assert [x["VersionId"] for x in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == ["v2", "v1"]
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v2")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
    iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    iam.untag_policy(PolicyArn=arn, TagKeys=["k"])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == []
    iam.attach_user_policy(UserName="alice", PolicyArn=arn)
    e = iam.list_entities_for_policy(PolicyArn=arn)
    assert [x["UserName"] for x in e["PolicyUsers"]] == ["alice"], e
    assert iam.list_attached_user_policies(UserName="alice")["AttachedPolicies"] == [
        {"PolicyName": "read", "PolicyArn": arn}]
    expect_error("DeleteConflict", lambda: iam.delete_policy(PolicyArn=arn), 409)
    iam.detach_user_policy(UserName="alice", PolicyArn=arn)
    iam.put_user_permissions_boundary(UserName="alice", PermissionsBoundary=arn)
    b = iam.get_user(UserName="alice")["User"]["PermissionsBoundary"]
    assert b == {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": arn}, b
    iam.delete_user_permissions_boundary(UserName="alice")
    iam.delete_policy(PolicyArn=arn)
    expect_error("MalformedPolicyDocument", lambda: iam.create_policy(PolicyName="bad", PolicyDocument="{"), 400)


def groups():
    g = iam.create_group(GroupName="devs")["Group"]
    assert g["Arn"] == f"arn:aws:iam::{ACCOUNT}:group/devs"
    iam.add_user_to_group(GroupName="devs", UserName="alice")
    r = iam.get_group(GroupName="devs")
    assert r["Group"]["GroupName"] == "devs" and [u["UserName"] for u in r["Users"]] == ["alice"], r
    assert [x["GroupName"] for x in iam.list_groups()["Groups"]] == ["devs"]
    assert [x["GroupName"] for x in iam.list_groups_for_user(UserName="alice")["Groups"]] == ["devs"]
    iam.put_group_policy(GroupName="devs", PolicyName="inline", PolicyDocument=POLICY)
    assert iam.get_group_policy(GroupName="devs", PolicyName="inline")["PolicyDocument"] == json.loads(POLICY)
    assert iam.list_group_policies(GroupName="devs")["PolicyNames"] == ["inline"]
    iam.delete_group_policy(GroupName="devs", PolicyName="inline")
    managed = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    iam.attach_group_policy(GroupName="devs", PolicyArn=managed)
    assert iam.list_attached_group_policies(GroupName="devs")["AttachedPolicies"][0]["PolicyArn"] == managed
    iam.detach_group_policy(GroupName="devs", PolicyArn=managed)
    iam.update_group(GroupName="devs", NewGroupName="devs2")
    iam.remove_user_from_group(GroupName="devs2", UserName="alice")
    iam.delete_group(GroupName="devs2")


def roles():
    r = iam.create_role(RoleName="api", AssumeRolePolicyDocument=TRUST, Description="gw", MaxSessionDuration=7200,
                        Tags=[{"Key": "t", "Value": "1"}])["Role"]
    assert r["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/api" and r["RoleId"].startswith("AROA"), r
    assert r["AssumeRolePolicyDocument"] == json.loads(TRUST), r["AssumeRolePolicyDocument"]
    g = iam.get_role(RoleName="api")["Role"]
    assert g["MaxSessionDuration"] == 7200 and g["Description"] == "gw", g
    listed = [x for x in iam.list_roles()["Roles"] if x["RoleName"] == "api"]
    assert len(listed) == 1 and not {"Tags", "RoleLastUsed", "PermissionsBoundary"} & listed[0].keys(), listed
    iam.update_role(RoleName="api", Description="gw2", MaxSessionDuration=3600)
    assert iam.update_role_description(RoleName="api", Description="gw3")["Role"]["Description"] == "gw3"
    iam.update_assume_role_policy(RoleName="api", PolicyDocument=TRUST)
    iam.tag_role(RoleName="api", Tags=[{"Key": "u", "Value": "2"}])
    assert sorted(t["Key"] for t in iam.list_role_tags(RoleName="api")["Tags"]) == ["t", "u"]
    iam.untag_role(RoleName="api", TagKeys=["t"])
    cw = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
    iam.attach_role_policy(RoleName="api", PolicyArn=cw)
    assert iam.list_attached_role_policies(RoleName="api")["AttachedPolicies"] == [
        {"PolicyName": "AmazonAPIGatewayPushToCloudWatchLogs", "PolicyArn": cw}]
    iam.put_role_permissions_boundary(RoleName="api", PermissionsBoundary=cw)
    iam.delete_role_permissions_boundary(RoleName="api")
    iam.put_role_policy(RoleName="api", PolicyName="x", PolicyDocument=POLICY2)
    assert iam.get_role_policy(RoleName="api", PolicyName="x")["RoleName"] == "api"
    assert iam.list_role_policies(RoleName="api")["PolicyNames"] == ["x"]
    iam.delete_role_policy(RoleName="api", PolicyName="x")
    iam.detach_role_policy(RoleName="api", PolicyArn=cw)


def inline_user():
    iam.put_user_policy(UserName="alice", PolicyName="self", PolicyDocument=POLICY)
    r = iam.get_user_policy(UserName="alice", PolicyName="self")
    assert r["UserName"] == "alice" and r["PolicyDocument"] == json.loads(POLICY), r
    assert iam.list_user_policies(UserName="alice")["PolicyNames"] == ["self"]
    iam.delete_user_policy(UserName="alice", PolicyName="self")


def keys_and_sts():
    k = iam.create_access_key(UserName="alice")["AccessKey"]
    assert k["AccessKeyId"].startswith("AKIA") and len(k["SecretAccessKey"]) == 40 and k["Status"] == "Active", k
    assert [x["AccessKeyId"] for x in iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]] == [k["AccessKeyId"]]
    alice = (k["AccessKeyId"], k["SecretAccessKey"])
    who = client("sts", alice).get_caller_identity()
    assert who["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/team/alice" and who["Account"] == ACCOUNT, who
    expect_error("AccessDenied", lambda: client("iam", alice).list_users(), 403)
    # The key's first use this minute (GetCallerIdentity, an STS call) is written a moment later.
    for _ in range(200):
        used = iam.get_access_key_last_used(AccessKeyId=k["AccessKeyId"])
        if "LastUsedDate" in used["AccessKeyLastUsed"]:
            break
        time.sleep(0.025)
    assert used["UserName"] == "alice", used
    last = used["AccessKeyLastUsed"]
    assert isinstance(last.get("LastUsedDate"), datetime.datetime), used
    assert last["ServiceName"] == "sts" and last["Region"] == "us-east-1", used
    iam.update_access_key(UserName="alice", AccessKeyId=k["AccessKeyId"], Status="Inactive")
    expect_error("InvalidClientTokenId", lambda: client("sts", alice).get_caller_identity(), 403)
    iam.update_access_key(UserName="alice", AccessKeyId=k["AccessKeyId"], Status="Active")
    # alice may assume the role (trusted by the account; her policy allows sts:AssumeRole).
    iam.put_user_policy(UserName="alice", PolicyName="assume", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    a = client("sts", alice).assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/api", RoleSessionName="a+b1",
                                         DurationSeconds=900)
    c = a["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA") and isinstance(c["Expiration"], datetime.datetime), a
    assert a["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/api/a+b1", a
    last = iam.get_role(RoleName="api")["Role"]["RoleLastUsed"]
    assert isinstance(last.get("LastUsedDate"), datetime.datetime) and last.get("Region") == "us-east-1", last
    temp = client("sts", (c["AccessKeyId"], c["SecretAccessKey"]), token=c["SessionToken"], region="eu-west-1")
    assert temp.get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/api/a+b1"
    foreign = client("sts", (c["AccessKeyId"], c["SecretAccessKey"]), token="Zm9yZWlnbg==")
    expect_error("InvalidClientTokenId", foreign.get_caller_identity, 403)
    keys_and_sts.session = c
    keys_and_sts.alice = alice
    iam.delete_user_policy(UserName="alice", PolicyName="assume")


def account_and_simulation():
    s = iam.get_account_summary()["SummaryMap"]
    assert s["Users"] >= 1 and "Roles" in s, s
    d = iam.get_account_authorization_details(Filter=["User", "Role"])
    assert "alice" in [u["UserName"] for u in d["UserDetailList"]], d["UserDetailList"]
    assert "api" in [r["RoleName"] for r in d["RoleDetailList"]]
    assert d["GroupDetailList"] == [] and d["Policies"] == []
    # A detail's lists are there even when empty, as AWS writes them (code indexes them without .get).
    for u in d["UserDetailList"]:
        assert all(k in u for k in ("UserPolicyList", "GroupList", "AttachedManagedPolicies")), u
    for r in d["RoleDetailList"]:
        assert all(k in r for k in ("InstanceProfileList", "RolePolicyList", "AttachedManagedPolicies")), r
    iam.put_user_policy(UserName="alice", PolicyName="s3", PolicyDocument=POLICY2)
    r = iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/team/alice",
                                      ActionNames=["s3:GetObject", "iam:CreateUser"])
    decisions = {e["EvalActionName"]: e["EvalDecision"] for e in r["EvaluationResults"]}
    assert decisions == {"s3:GetObject": "allowed", "iam:CreateUser": "implicitDeny"}, r
    m = r["EvaluationResults"][0]["MatchedStatements"]
    assert m and m[0]["SourcePolicyId"] == "s3", m
    r = iam.simulate_custom_policy(PolicyInputList=[POLICY], ActionNames=["s3:GetObject"],
                                   ContextEntries=[{"ContextKeyName": "aws:username", "ContextKeyValues": ["x+y"],
                                                    "ContextKeyType": "string"}])
    assert r["EvaluationResults"][0]["EvalDecision"] == "allowed", r
    assert "PermissionsBoundaryDecisionDetail" not in r["EvaluationResults"][0], r
    # The matched statement's braces in POLICY's one line of text.
    m = r["EvaluationResults"][0]["MatchedStatements"][0]
    assert (m["StartPosition"], m["EndPosition"]) == ({"Line": 1, "Column": 41}, {"Line": 1, "Column": 187}), m
    # A boundary that allows nothing of S3: the simulation says so, as AWS's PermissionsBoundaryDecisionDetail.
    boundary = json.dumps({"Version": "2012-10-17",
                           "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]})
    r = iam.simulate_custom_policy(PolicyInputList=[POLICY], PermissionsBoundaryPolicyInputList=[boundary],
                                   ActionNames=["s3:GetObject", "sqs:SendMessage"],
                                   ContextEntries=[{"ContextKeyName": "aws:username", "ContextKeyValues": ["x+y"],
                                                    "ContextKeyType": "string"}])
    detail = {e["EvalActionName"]: (e["EvalDecision"],
                                    e["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"])
              for e in r["EvaluationResults"]}
    assert detail == {"s3:GetObject": ("implicitDeny", False), "sqs:SendMessage": ("implicitDeny", True)}, r
    k = iam.get_context_keys_for_custom_policy(PolicyInputList=[POLICY])["ContextKeyNames"]
    assert k == ["aws:username"], k
    k = iam.get_context_keys_for_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/team/alice")
    assert isinstance(k["ContextKeyNames"], list)
    iam.delete_user_policy(UserName="alice", PolicyName="s3")


def instance_profiles():
    EC2 = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
        "Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    p = iam.create_instance_profile(InstanceProfileName="web", Path="/fleet/",
                                    Tags=[{"Key": "team", "Value": "api"}])["InstanceProfile"]
    assert p["Arn"] == f"arn:aws:iam::{ACCOUNT}:instance-profile/fleet/web", p
    assert p["InstanceProfileId"].startswith("AIPA") and isinstance(p["CreateDate"], datetime.datetime), p
    assert p["Path"] == "/fleet/" and p["Roles"] == [] and p["Tags"] == [{"Key": "team", "Value": "api"}], p
    e = expect_error("EntityAlreadyExists", lambda: iam.create_instance_profile(InstanceProfileName="WEB"), 409)
    assert e.response["Error"]["Message"] == "Instance Profile WEB already exists.", e.response["Error"]
    role = iam.create_role(RoleName="ec2", AssumeRolePolicyDocument=EC2)["Role"]
    # Terraform deletes a role after ListInstanceProfilesForRole: empty for a role in no profile.
    assert iam.list_instance_profiles_for_role(RoleName="ec2")["InstanceProfiles"] == []
    iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="ec2")
    e = expect_error("LimitExceeded", lambda: iam.add_role_to_instance_profile(
        InstanceProfileName="web", RoleName="ec2"), 409)
    assert e.response["Error"]["Message"] == "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1"
    g = iam.get_instance_profile(InstanceProfileName="web")["InstanceProfile"]
    assert [r["RoleName"] for r in g["Roles"]] == ["ec2"], g
    r = g["Roles"][0]
    assert r["RoleId"] == role["RoleId"] and r["Arn"] == role["Arn"] and r["CreateDate"] == role["CreateDate"], r
    assert r["AssumeRolePolicyDocument"] == json.loads(EC2), r
    assert g["Tags"] == [{"Key": "team", "Value": "api"}], g
    listed = iam.list_instance_profiles(PathPrefix="/fleet/")["InstanceProfiles"]
    assert [x["InstanceProfileName"] for x in listed] == ["web"] and "Tags" not in listed[0], listed
    assert [x["RoleName"] for x in listed[0]["Roles"]] == ["ec2"], listed
    forrole = iam.list_instance_profiles_for_role(RoleName="ec2")["InstanceProfiles"]
    assert [x["InstanceProfileName"] for x in forrole] == ["web"], forrole
    d = iam.get_account_authorization_details(Filter=["Role"])["RoleDetailList"]
    ec2 = [x for x in d if x["RoleName"] == "ec2"][0]
    assert [x["InstanceProfileName"] for x in ec2["InstanceProfileList"]] == ["web"], ec2
    assert iam.get_account_summary()["SummaryMap"]["InstanceProfiles"] == 1
    e = expect_error("DeleteConflict", lambda: iam.delete_role(RoleName="ec2"), 409)
    assert e.response["Error"]["Message"] == "Cannot delete entity, must remove roles from instance profile first."
    expect_error("DeleteConflict", lambda: iam.delete_instance_profile(InstanceProfileName="web"), 409)
    iam.tag_instance_profile(InstanceProfileName="web", Tags=[{"Key": "Team", "Value": "ops"}])
    tags = iam.list_instance_profile_tags(InstanceProfileName="web")
    assert tags["Tags"] == [{"Key": "team", "Value": "api"}, {"Key": "Team", "Value": "ops"}], tags
    assert tags["IsTruncated"] is False
    iam.untag_instance_profile(InstanceProfileName="web", TagKeys=["team"])
    assert iam.list_instance_profile_tags(InstanceProfileName="web")["Tags"] == [{"Key": "Team", "Value": "ops"}]
    iam.remove_role_from_instance_profile(InstanceProfileName="web", RoleName="ec2")
    expect_error("NoSuchEntity", lambda: iam.remove_role_from_instance_profile(
        InstanceProfileName="web", RoleName="ec2"), 404)
    assert iam.list_instance_profiles_for_role(RoleName="ec2")["InstanceProfiles"] == []
    iam.delete_role(RoleName="ec2")
    iam.delete_instance_profile(InstanceProfileName="web")
    e = expect_error("NoSuchEntity", lambda: iam.get_instance_profile(InstanceProfileName="web"), 404)
    assert e.response["Error"]["Message"] == "Instance Profile web cannot be found.", e.response["Error"]
    assert iam.list_instance_profiles()["InstanceProfiles"] == []


def cleanup():
    k = keys_and_sts.alice
    iam.delete_access_key(UserName="alice", AccessKeyId=k[0])
    iam.delete_role(RoleName="api")
    iam.delete_user(UserName="alice")


for name, fn in [("users", users), ("policies", policies), ("groups", groups), ("roles", roles),
                 ("inline user policies", inline_user), ("access keys, AssumeRole, temporary credentials", keys_and_sts),
                 ("account and simulation", account_and_simulation), ("instance profiles", instance_profiles),
                 ("deletes", cleanup)]:
    check("boto3: " + name, fn)


# Every IDL operation the models have, once through boto3.
def coverage():
    gen = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../Sources/IAMQueryAPI/Generated/QueryOperations.swift")).read()
    import re
    served = set(re.findall(r'action: "([A-Za-z]+)"', gen))
    missing = sorted(served - called)
    assert not missing, f"operations never called through boto3: {missing}"
    assert len(served) >= 87, len(served)
check("boto3 called every served operation", coverage)


# Negative SigV4: a correctly signed request, mutated.
http = urllib3.PoolManager(ca_certs=args.ca, cert_reqs="CERT_REQUIRED")
BODY = "Action=ListUsers&Version=2010-05-08"


def signed(body=BODY, service="iam", key=ROOT, token=None, when=None, presign=None, method="POST", query=""):
    url = args.endpoint + "/" + (("?" + query) if query else "")
    req = AWSRequest(method=method, url=url, data=body.encode() if body else None,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"} if body else {})
    creds = Credentials(key[0], key[1], token)
    when = when or datetime.datetime.now(datetime.timezone.utc)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        (SigV4QueryAuth(creds, service, "us-east-1", expires=presign) if presign else SigV4Auth(creds, service, "us-east-1")).add_auth(req)
    return req.prepare()


def send(p, body=None, headers=None):
    h = dict(p.headers)
    if headers:
        h.update(headers)
    r = http.request(p.method, p.url, body=p.body if body is None else body, headers=h)
    text = r.data.decode()
    code = text.split("<Code>")[1].split("</Code>")[0] if "<Code>" in text else None
    msg = text.split("<Message>")[1].split("</Message>")[0] if "<Message>" in text else ""
    return r.status, code, msg, r.headers.get("x-amzn-RequestId")


def neg(name, expect_status, expect_code, prefix, fn):
    def run():
        status, code, msg, rid = fn()
        assert (status, code) == (expect_status, expect_code), (status, code, msg)
        assert msg.startswith(prefix), msg
        assert rid, "no x-amzn-RequestId"
    check("sigv4: " + name, run)


now = datetime.datetime.now(datetime.timezone.utc)
def unmutated():
    status, code, msg, _ = send(signed())
    assert status == 200, (status, code, msg)
check("sigv4: the unmutated request is accepted", unmutated)
neg("body byte mutated", 403, "SignatureDoesNotMatch", "The request signature we calculated does not match",
    lambda: send(signed(), body=BODY.replace("Users", "Usert").encode()))
neg("signed header changed", 403, "SignatureDoesNotMatch", "The request signature we calculated",
    lambda: send(signed(), headers={"Content-Type": "application/x-www-form-urlencoded"}))
def unsigned_host():
    p = signed()
    auth = p.headers["Authorization"].replace("content-type;host;x-amz-date", "content-type;x-amz-date")
    return send(p, headers={"Authorization": auth})
neg("host not signed", 403, "SignatureDoesNotMatch", "'Host' or ':authority' must be a 'SignedHeader'", unsigned_host)
neg("wrong service", 403, "SignatureDoesNotMatch", "Credential should be scoped to correct service",
    lambda: send(signed(service="ec2")))
neg("sts scope for an IAM action", 403, "SignatureDoesNotMatch", "Credential should be scoped to correct service: 'iam'",
    lambda: send(signed(service="sts")))
neg("unknown key", 403, "InvalidClientTokenId", "The security token included in the request is invalid",
    lambda: send(signed(key=("AKIAUNKNOWNUNKNOWN00", "x" * 40))))
neg("16 minutes late", 403, "SignatureDoesNotMatch", "Signature expired",
    lambda: send(signed(when=now - datetime.timedelta(minutes=16))))
neg("16 minutes early", 403, "SignatureDoesNotMatch", "Signature expired",
    lambda: send(signed(when=now + datetime.timedelta(minutes=16))))
neg("foreign session token", 403, "InvalidClientTokenId", "The security token included in the request is invalid",
    lambda: send(signed(key=(keys_and_sts.session["AccessKeyId"], keys_and_sts.session["SecretAccessKey"]),
                        token="other", body="Action=GetCallerIdentity&Version=2011-06-15", service="sts")))
neg("presigned past expiry", 403, "AccessDenied", "Request has expired",
    lambda: send(signed(body=None, method="GET", query="Action=GetCallerIdentity&Version=2011-06-15", service="sts",
                        presign=60, when=now - datetime.timedelta(minutes=5))))
def presigned_ok():
    status, code, msg, _ = send(signed(body=None, method="GET", query="Action=GetCallerIdentity&Version=2011-06-15",
                                       service="sts", presign=300))
    assert status == 200, (status, code, msg)
check("sigv4: presigned GET accepted", presigned_ok)
def unsigned():
    p = signed()
    headers = {k: v for k, v in p.headers.items() if k.lower() not in ("authorization",)}
    r = http.request("POST", p.url, body=p.body, headers=headers)
    text = r.data.decode()
    return (r.status, text.split("<Code>")[1].split("</Code>")[0], text.split("<Message>")[1].split("</Message>")[0],
            r.headers.get("x-amzn-RequestId"))
neg("missing authentication", 403, "MissingAuthenticationToken", "Request is missing Authentication Token", unsigned)
neg("body over 1 MiB", 413, "RequestEntityTooLarge", "Request body exceeds",
    lambda: send(signed(body=BODY + "&X=" + "a" * (1 << 20))))


# The AWS CLI (v1 from PyPI, v2 from Debian): the origin scenario.
AWS_CLI = {"command": ["aws"], "major": 1}


def aws(*argv, key=ROOT, token=None, expect=0):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=key[0], AWS_SECRET_ACCESS_KEY=key[1], AWS_DEFAULT_REGION="us-east-1")
    env.pop("AWS_PROFILE", None)
    if token:
        env["AWS_SESSION_TOKEN"] = token
    else:
        env.pop("AWS_SESSION_TOKEN", None)
    p = subprocess.run([*AWS_CLI["command"], "--endpoint-url", args.endpoint, "--ca-bundle", args.ca, "--output", "json", *argv],
                       env=env, capture_output=True, text=True, timeout=120)
    # A service error exits 255 in the CLI v1 and 254 in v2 (each version's documented return codes).
    wanted = 255 if expect == 254 and AWS_CLI["major"] == 1 else expect
    assert p.returncode == wanted, f"aws {' '.join(argv)} exited {p.returncode} (wanted {wanted}): {p.stderr}"
    return json.loads(p.stdout) if p.stdout.strip() else p.stderr


def cli(tag):
    path = os.path.join(args.work, "policy.json")
    with open(path, "w") as f:
        f.write(json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:PutLogEvents"], "Resource": "*"}]}))
    p = aws("iam", "create-policy", "--policy-name", f"logs-{tag}", "--policy-document", f"file://{path}")["Policy"]
    aws("iam", "create-user", "--user-name", f"carol-{tag}")
    aws("iam", "attach-user-policy", "--user-name", f"carol-{tag}", "--policy-arn", p["Arn"])
    aws("iam", "create-group", "--group-name", f"ops-{tag}")
    aws("iam", "add-user-to-group", "--group-name", f"ops-{tag}", "--user-name", f"carol-{tag}")
    assert [g["GroupName"] for g in aws("iam", "list-groups-for-user", "--user-name", f"carol-{tag}")["Groups"]] == [f"ops-{tag}"]
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
        "Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    aws("iam", "create-role", "--role-name", f"apigw-logs-{tag}", "--assume-role-policy-document", trust)
    aws("iam", "attach-role-policy", "--role-name", f"apigw-logs-{tag}", "--policy-arn",
        "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")
    r = aws("iam", "simulate-principal-policy", "--policy-source-arn", f"arn:aws:iam::{ACCOUNT}:role/apigw-logs-{tag}",
            "--action-names", "logs:PutLogEvents", "s3:GetObject")
    assert [e["EvalDecision"] for e in r["EvaluationResults"]] == ["allowed", "implicitDeny"], r
    k = aws("iam", "create-access-key", "--user-name", f"carol-{tag}")["AccessKey"]
    carol = (k["AccessKeyId"], k["SecretAccessKey"])
    assert aws("sts", "get-caller-identity", key=carol)["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/carol-{tag}"
    # carol may assume a role that trusts her.
    aws("iam", "put-user-policy", "--user-name", f"carol-{tag}", "--policy-name", "assume", "--policy-document",
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    aws("iam", "create-role", "--role-name", f"deploy-{tag}", "--assume-role-policy-document", json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/carol-{tag}"},
                                                  "Action": "sts:AssumeRole"}]}))
    c = aws("sts", "assume-role", "--role-arn", f"arn:aws:iam::{ACCOUNT}:role/deploy-{tag}", "--role-session-name", "cli",
            key=carol)["Credentials"]
    who = aws("sts", "get-caller-identity", key=(c["AccessKeyId"], c["SecretAccessKey"]), token=c["SessionToken"])
    assert who["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/deploy-{tag}/cli", who
    err = aws("iam", "get-user", "--user-name", "nobody", expect=254)
    assert "NoSuchEntity" in err, err
    err = aws("iam", "list-users", key=carol, expect=254)
    assert "AccessDenied" in err, err
    err = aws("iam", "create-user", "--user-name", f"carol-{tag}", expect=254)
    assert "EntityAlreadyExists" in err, err


for command in args.aws_cli or ["aws"]:
    argv = shlex.split(command)
    shown = subprocess.run([*argv, "--version"], capture_output=True, text=True)
    version = (shown.stdout.strip() or shown.stderr.strip())
    assert version.startswith("aws-cli/"), f"{command} --version: {version}"
    AWS_CLI.update(command=argv, major=int(version.split("/", 1)[1].split(".", 1)[0]))
    check(f"aws cli v{AWS_CLI['major']} ({version.split(' ')[0]}): origin scenario, new key, assume-role, errors and exit codes",
          lambda: cli(f"v{AWS_CLI['major']}"))

print(f"{results['passed']} passed, {results['failed']} failed")
sys.exit(1 if results["failed"] else 0)
