#!/usr/bin/env python3
"""Writes sigv4-vectors.json: SigV4 requests signed by botocore (PyPI), the reference client, plus
cases of AWS's published SigV4 test suite (aws-sig-v4-test-suite, credentials AKIDEXAMPLE) whose
signatures are reproduced here by botocore and checked against the suite's published values.

Run: python3 Tests/IAMQueryAPITests/Fixtures/make-sigv4-vectors.py  (needs `pip install botocore`)
"""
import datetime, hashlib, json, os, sys
from unittest import mock
from urllib.parse import urlsplit

import botocore
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SUITE_KEY = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
SUITE_TIME = datetime.datetime(2015, 8, 30, 12, 36, 0)


def sign(method, url, headers, body, key, secret, token, region, service, when, presign=None):
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    creds = Credentials(key, secret, token)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        if presign is None:
            SigV4Auth(creds, service, region).add_auth(request)
        else:
            SigV4QueryAuth(creds, service, region, expires=presign).add_auth(request)
    prepared = request.prepare()
    split = urlsplit(prepared.url)
    body_bytes = prepared.body or b""
    if isinstance(body_bytes, str):
        body_bytes = body_bytes.encode()
    out_headers = [[k, v if isinstance(v, str) else v.decode()] for k, v in prepared.headers.items()]
    if not any(k.lower() == "host" for k, _ in out_headers):
        out_headers.append(["Host", split.netloc])
    return {
        "method": prepared.method,
        "path": split.path or "/",
        "query": split.query,
        "headers": out_headers,
        "body": body_bytes.decode(),
        "accessKeyID": key,
        "secret": secret,
        "sessionToken": token,
        "now": when.strftime("%Y%m%dT%H%M%SZ"),
    }


def main():
    vectors = []
    # AWS's published suite (the request as the suite writes it; expected signature from the suite).
    suite = [
        ("get-vanilla", "GET", "https://example.amazonaws.com/", [], b"",
         "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        ("get-vanilla-query-order-key-case", "GET",
         "https://example.amazonaws.com/?Param2=value2&Param1=value1", [], b"",
         "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        ("post-vanilla", "POST", "https://example.amazonaws.com/", [], b"",
         "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
    ]
    for name, method, url, headers, body, published in suite:
        v = sign(method, url, headers, body, *SUITE_KEY, None, "us-east-1", "service", SUITE_TIME)
        auth = dict((k.lower(), val) for k, val in v["headers"])["authorization"]
        got = auth.rsplit("Signature=", 1)[1]
        if got != published:
            sys.exit(f"{name}: botocore signs {got}, the suite publishes {published}")
        v.update(name="aws-suite/" + name, service="service", expect="ok", signature=published)
        vectors.append(v)

    when = datetime.datetime(2026, 12, 1, 22, 0, 0)
    key, secret = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    form = "Action=CreateUser&Version=2010-05-08&UserName=alice&Path=%2Fteam%2F"
    ct = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]
    base = "https://127.0.0.1:7444/"
    cases = [
        ("botocore/iam-post-form", "POST", base, ct, form, None, "us-east-1", "iam", None),
        ("botocore/iam-other-region", "POST", base, ct, form, None, "eu-west-3", "iam", None),
        ("botocore/sts-post-form", "POST", base, ct, "Action=GetCallerIdentity&Version=2011-06-15", None,
         "us-east-1", "sts", None),
        ("botocore/session-token", "POST", base, ct, form, "FQoGZXIvYXdzEXAMPLETOKEN+/=", "us-east-1", "iam", None),
        ("botocore/get-query", "GET", base + "?Action=ListUsers&Version=2010-05-08&PathPrefix=%2Fa%20b%2F",
         [], "", None, "us-east-1", "iam", None),
        ("botocore/unicode-body", "POST", base, ct,
         "Action=CreateUser&Version=2010-05-08&UserName=al%C3%AFce%2Bx", None, "us-east-1", "iam", None),
        ("botocore/presigned", "GET", base + "?Action=GetCallerIdentity&Version=2011-06-15", [], "", None,
         "us-east-1", "sts", 900),
        ("botocore/presigned-token", "GET", base + "?Action=GetCallerIdentity&Version=2011-06-15", [], "",
         "SESSIONTOKEN/+=", "us-west-2", "sts", 3600),
        # The Go SDK v2 signs these headers on a Query call (host, content-type, x-amz-date and, with a
        # session, x-amz-security-token; content-length is left out).
        ("botocore/go-sdk-header-set", "POST", base,
         ct + [("Amz-Sdk-Invocation-Id", "4f1a-aa"), ("Amz-Sdk-Request", "attempt=1; max=3")],
         form, None, "us-east-1", "iam", None),
        # Canonical-request details the verifier writes byte by byte: a value with runs of spaces and a tab,
        # repeated and percent-encoded query keys sorted by key then value, a path with dot segments.
        ("botocore/spaced-header-value", "POST", base, ct + [("X-Amz-Meta-Note", "  a   b\tc  ")], form, None,
         "us-east-1", "iam", None),
        ("botocore/query-sorting", "GET",
         base + "?b=2&a=3&a=1&Action=ListUsers&Version=2010-05-08&c%20d=%E2%82%AC~x", [], "", None,
         "us-east-1", "iam", None),
        ("botocore/dot-segments", "POST", base + "a/./b/../c%20d/", ct, form, None, "us-east-1", "iam", None),
    ]
    for name, method, url, headers, body, token, region, service, presign in cases:
        v = sign(method, url, headers, body.encode(), key, secret, token, region, service, when, presign)
        v.update(name=name, service=service, expect="ok")
        vectors.append(v)

    # Mutations of a correct request, with AWS's code.
    good = sign("POST", base, ct, form.encode(), key, secret, None, "us-east-1", "iam", when)
    def mutated(name, expect, **change):
        v = json.loads(json.dumps(good))
        v.update(change)
        v.update(name=name, service="iam", expect=expect)
        vectors.append(v)
    mutated("mutation/body-byte", "SignatureDoesNotMatch", body=form.replace("alice", "alicf"))
    mutated("mutation/wrong-secret", "SignatureDoesNotMatch", secret=secret[:-1] + "X")
    unknown = sign("POST", base, ct, form.encode(), "AKIAUNKNOWNUNKNOWN00", secret, None, "us-east-1", "iam", when)
    unknown.update(name="mutation/unknown-key", service="iam", expect="InvalidClientTokenId")
    vectors.append(unknown)
    mutated("mutation/16-minutes-late", "SignatureDoesNotMatch", now="20261201T221600Z")
    mutated("mutation/16-minutes-early", "SignatureDoesNotMatch", now="20261201T214400Z")
    mutated("mutation/14-minutes-late-ok", "ok", now="20261201T221400Z")
    mutated("mutation/no-authorization", "MissingAuthenticationToken",
            headers=[h for h in good["headers"] if h[0].lower() != "authorization"])
    mutated("mutation/signed-header-value", "SignatureDoesNotMatch",
            headers=[[h[0], h[1] + "x" if h[0].lower() == "x-amz-date" and False else
                      ("text/plain" if h[0].lower() == "content-type" else h[1])] for h in good["headers"]])
    wrong_service = sign("POST", base, ct, form.encode(), key, secret, None, "us-east-1", "ec2", when)
    wrong_service.update(name="mutation/wrong-service", service="iam", expect="SignatureDoesNotMatch")
    vectors.append(wrong_service)
    unsigned_host = json.loads(json.dumps(good))
    unsigned_host["headers"] = [[h[0], h[1].replace("host;", "")] if h[0].lower() == "authorization" else h
                                for h in good["headers"]]
    unsigned_host.update(name="mutation/unsigned-host", service="iam", expect="SignatureDoesNotMatch")
    vectors.append(unsigned_host)
    token_req = sign("POST", base, ct, form.encode(), key, secret, "TOKEN-A", "us-east-1", "iam", when)
    token_req.update(name="mutation/foreign-token", service="iam", expect="InvalidClientTokenId",
                     sessionToken="TOKEN-B")
    vectors.append(token_req)
    presigned = sign("GET", base + "?Action=GetCallerIdentity&Version=2011-06-15", [], b"", key, secret, None,
                     "us-east-1", "sts", when, 60)
    presigned.update(name="mutation/presigned-past-expiry", service="sts", expect="AccessDenied",
                     now="20261201T220200Z")
    vectors.append(presigned)

    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sigv4-vectors.json")
    with open(out, "w") as f:
        json.dump({"generator": f"make-sigv4-vectors.py with botocore {botocore.__version__}",
                   "vectors": vectors}, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {len(vectors)} vectors to {out}")


main()
