"""Our SigV4 signer against botocore's (Debian's python3-botocore) on many random S3 requests:
random keys (spaces, reserved characters, UTF-8), random query parameters, random dates."""
import datetime
import os
import random
import subprocess
from unittest import mock
from urllib.parse import quote

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import BUILD

ALPHABET = "abcXYZ019 -_.~+=&;,@$!'()*%/é日本?#[]"


def rand_text(rng, n):
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, n)))


def botocore_authorization(method, host, key, params, when):
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in params)
    url = f"http://{host}/{quote(key, safe='/-_.~')}" + (f"?{query}" if query else "")
    req = AWSRequest(method=method, url=url, headers={})
    auth = S3SigV4Auth(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), "s3", "us-east-1")
    with mock.patch("botocore.auth.datetime") as dt:
        dt.datetime.utcnow.return_value = when
        req.headers["X-Amz-Content-SHA256"] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        auth.add_auth(req)
    return req.headers["Authorization"]


def test_signatures_match_botocore_on_random_requests():
    rng = random.Random(1234)
    lines, expected = [], []
    for _ in range(300):
        method = rng.choice(["GET", "HEAD", "GET", "DELETE"])
        host = rng.choice(["127.0.0.1:7480", "bucket.s3.us-east-1.amazonaws.com", "localhost:9000"])
        key = rand_text(rng, 40).lstrip("/")
        params = [(rand_text(rng, 8).replace("\x01", ""), rand_text(rng, 12)) for _ in range(rng.randint(0, 4))]
        params = [(k, v) for k, v in params if "=" not in k]  # the test line format splits on the first "="
        when = datetime.datetime(2020 + rng.randint(0, 6), rng.randint(1, 12), rng.randint(1, 28),
                                 rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))
        amz = when.strftime("%Y%m%dT%H%M%SZ")
        lines.append("\t".join([method, host, key, amz, "\x01".join(f"{k}={v}" for k, v in params)]))
        expected.append(botocore_authorization(method, host, key, params, when))
    out = subprocess.run([os.path.join(BUILD, "tests", "sigv4_cli")], input="\n".join(lines) + "\n",
                         capture_output=True, text=True, check=True)
    got = out.stdout.splitlines()
    assert len(got) == len(expected)
    mismatches = [(lines[i], got[i], expected[i]) for i in range(len(got)) if got[i] != expected[i]]
    assert not mismatches, f"{len(mismatches)} of {len(got)} differ; first: {mismatches[0]}"
