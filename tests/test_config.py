"""Configuration paths a user relies on: a config file, virtual-hosted addressing, anonymous
access to a public bucket, the `ufs run` entry point, and the shim surviving programs that
scrub their children's environment."""
import os

import boto3
import pytest

from conftest import BUCKET, MOUNT, PY, UFS, counters, run, shim_env


def test_mounts_from_a_config_file(uploaded, cache_dir, tmp_path):
    conf = tmp_path / "ufshim.conf"
    conf.write_text(f"# dataset\n{MOUNT}=s3://{BUCKET}/data?endpoint={uploaded['S3_ENDPOINT']}\n")
    env = shim_env(uploaded, cache_dir, UFSHIM_CONFIG=str(conf))
    env.pop("UFSHIM_MOUNTS")
    assert run(["cat", f"{MOUNT}/top.txt"], env=env, text=True).stdout == "top level\n"


def test_virtual_hosted_addressing(uploaded, cache_dir):
    port = uploaded["S3_ENDPOINT"].rsplit(":", 1)[1]
    env = shim_env(uploaded, cache_dir, mounts=f"{MOUNT}=s3://{BUCKET}/data?endpoint=http://localhost:{port}&path_style=0",
                   UFSHIM_LOG="info")
    out = run(["cat", f"{MOUNT}/top.txt"], env=env, text=True)
    assert out.stdout == "top level\n"
    assert "virtual-hosted addressing" in out.stderr


@pytest.fixture
def public_env(uploaded, cache_dir, tmp_path):
    """A mount of a public-read bucket, with no credentials anywhere."""
    s3 = boto3.client("s3", endpoint_url=uploaded["S3_ENDPOINT"], region_name="us-east-1",
                      aws_access_key_id=uploaded["AWS_ACCESS_KEY_ID"], aws_secret_access_key=uploaded["AWS_SECRET_ACCESS_KEY"])
    try:
        s3.create_bucket(Bucket="ufshim-public", ACL="public-read")
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    s3.put_object(Bucket="ufshim-public", Key="pub/hello.txt", Body=b"public\n", ACL="public-read")
    env = shim_env(uploaded, cache_dir, mounts=f"/ufs/pub=s3://ufshim-public/pub?endpoint={uploaded['S3_ENDPOINT']}&anonymous=1",
                   HOME=str(tmp_path))
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(k)
    return env


def test_anonymous_access_to_a_public_bucket(public_env):
    assert run(["cat", "/ufs/pub/hello.txt"], env=public_env, text=True).stdout == "public\n"
    assert run(["ls", "/ufs/pub"], env=public_env, text=True).stdout == "hello.txt\n"


def test_shim_survives_scrubbed_environments(public_env):
    # env -i execs cat with an empty environment; Python's subprocess with env={} likewise.
    # LD_PRELOAD and UFSHIM_* come back (credentials do not: this mount needs none).
    out = run(["env", "-i", "/bin/cat", "/ufs/pub/hello.txt"], env=public_env, text=True)
    assert out.stdout == "public\n"
    script = "import subprocess; print(subprocess.run(['/bin/cat', '/ufs/pub/hello.txt'], env={}, capture_output=True, text=True).stdout, end='')"
    assert run([PY, "-c", script], env=public_env, text=True).stdout == "public\n"


def test_ufs_run_sets_up_the_shim(uploaded, cache_dir):
    env = shim_env(uploaded, cache_dir)
    env["UFSHIM_LIBRARY"] = env.pop("LD_PRELOAD")     # the sanitizer build keeps its library elsewhere
    mounts = env.pop("UFSHIM_MOUNTS")
    out = run([UFS, "run", "-m", mounts, "--", "cat", f"{MOUNT}/top.txt"], env=env, text=True)
    assert out.stdout == "top level\n"


def test_counters_report_at_exit(env):
    out = run(["cat", f"{MOUNT}/top.txt"], env=dict(env, UFSHIM_REPORT="1"), text=True)
    assert "GET requests" in out.stderr and "cache misses (opens)   1" in out.stderr
    assert counters(env)["files opened"] == 1
