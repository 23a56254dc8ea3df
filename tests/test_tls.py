"""HTTPS endpoints: certificates are verified — a store whose certificate chains to
AWS_CA_BUNDLE works; without that CA the request fails with EIO and a log line saying why."""
import os
import subprocess

import pytest

from conftest import BUCKET, MOUNT, ROOT, run, shim_env


@pytest.fixture(scope="module")
def tls(uploaded):
    out = subprocess.run([os.path.join(ROOT, "tools", "tls-proxy"), "start", "7443"], capture_output=True, text=True,
                         env=dict(os.environ, UFSHIM_TLS_TARGET=uploaded["S3_ENDPOINT"].split("//")[1]))
    if out.returncode != 0:
        pytest.fail("tools/tls-proxy did not start:\n" + out.stderr, pytrace=False)
    yield dict(line.split("=", 1) for line in out.stdout.split())
    subprocess.run([os.path.join(ROOT, "tools", "tls-proxy"), "stop"])


def test_https_endpoint_with_its_ca_bundle(uploaded, cache_dir, tls):
    env = shim_env(uploaded, cache_dir, mounts=f"{MOUNT}=s3://{BUCKET}/data?endpoint={tls['TLS_ENDPOINT']}",
                   AWS_CA_BUNDLE=tls["TLS_CA_BUNDLE"])
    assert run(["cat", f"{MOUNT}/top.txt"], env=env, text=True).stdout == "top level\n"
    assert run(["md5sum", f"{MOUNT}/special/with space.txt"], env=env, text=True).returncode == 0


def test_https_endpoint_with_an_unknown_certificate_is_refused(uploaded, cache_dir, tls):
    env = shim_env(uploaded, cache_dir, mounts=f"{MOUNT}=s3://{BUCKET}/data?endpoint={tls['TLS_ENDPOINT']}&retries=0")
    env.pop("AWS_CA_BUNDLE", None)
    out = run(["cat", f"{MOUNT}/top.txt"], env=env, check=False, text=True)
    assert out.returncode != 0 and "Input/output error" in out.stderr
    assert "certificate" in out.stderr
