"""Shared fixtures of the integration tests: the project's real S3 server (radosgw, started by
tools/s3-server, or reused if running), a test dataset on local disk uploaded to it once, and
environments that run programs under the shim. A server that cannot start fails every test."""
import hashlib
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("UFSHIM_BUILD", "build"))
# What LD_PRELOAD gets: the sanitizer build needs its runtime loaded first (see `make asan`)
LIB = os.environ.get("UFSHIM_PRELOAD", os.path.join(BUILD, "libufshim.so"))
UFS = os.path.join(BUILD, "ufs")
WORK = os.environ.get("UFSHIM_TEST_DIR", "/tmp/ufshim-test")
BUCKET = "ufshim-test"
MOUNT = "/ufs/data"
PY = "/usr/bin/python3"
sys.path.insert(0, os.path.join(ROOT, "tests"))
import dataset  # noqa: E402


@pytest.fixture(scope="session")
def s3():
    out = subprocess.run([os.path.join(ROOT, "tools", "s3-server"), "start"], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.fail("the S3 server (tools/s3-server start) did not start:\n" + out.stderr, pytrace=False)
    env = dict(line.split("=", 1) for line in out.stdout.split() if "=" in line)
    return env


@pytest.fixture(scope="session")
def local_tree():
    """The dataset on local disk: the reference every result is compared with."""
    path = os.path.join(WORK, "local")
    dataset.build(path)
    return path


@pytest.fixture(scope="session")
def uploaded(s3, local_tree):
    """The same tree in s3://ufshim-test/data, uploaded once per dataset version."""
    version = dataset.VERSION
    marker = os.path.join(WORK, f"uploaded-{version}-{s3['S3_ENDPOINT'].replace('/', '_')}")
    env = dict(os.environ, **s3)
    probe = subprocess.run([PY, "-c", f"""
import boto3,sys
s3=boto3.client('s3',endpoint_url='{s3['S3_ENDPOINT']}',region_name='us-east-1')
try: s3.head_object(Bucket='{BUCKET}',Key='markers/{version}')
except Exception: sys.exit(1)"""], env=env)
    if probe.returncode != 0 or not os.path.exists(marker):
        subprocess.run([PY, os.path.join(ROOT, "tools", "s3-sync.py"), local_tree, BUCKET, "data"], env=env, check=True)
        subprocess.run([PY, "-c", f"""
import boto3
boto3.client('s3',endpoint_url='{s3['S3_ENDPOINT']}',region_name='us-east-1').put_object(Bucket='{BUCKET}',Key='markers/{version}',Body=b'')"""],
                       env=env, check=True)
        open(marker, "w").close()
    return s3


def shim_env(s3, cache_dir, mounts=None, **extra):
    env = dict(os.environ)
    env.update({k: v for k, v in s3.items() if k.startswith("AWS_")})
    env.pop("LD_PRELOAD", None)
    env.update({
        "LD_PRELOAD": LIB,
        # the shared dataset is read-only: tests that write use locations of their own
        "UFSHIM_MOUNTS": mounts or f"{MOUNT}=s3://{BUCKET}/data?endpoint={s3['S3_ENDPOINT']}&write=ro",
        "UFSHIM_CACHE_DIR": cache_dir,
        "UFSHIM_STATS_DIR": os.path.join(cache_dir, "test-stats"),
    })
    env.update(extra)
    os.makedirs(env["UFSHIM_STATS_DIR"], exist_ok=True)
    return env


@pytest.fixture
def cache_dir(tmp_path):
    d = tmp_path / "cache"
    d.mkdir()
    yield str(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def env(uploaded, cache_dir):
    return shim_env(uploaded, cache_dir)


def run(cmd, env=None, cwd=None, check=True, timeout=300, **kw):
    """Runs cmd; returns the CompletedProcess with text stdout/stderr."""
    out = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, timeout=timeout, **kw)
    if check and out.returncode != 0:
        raise AssertionError(f"{cmd} exited {out.returncode}\nstdout: {out.stdout[-2000:]!r}\nstderr: {out.stderr[-4000:]!r}")
    return out


def counters(env):
    """Sum of the counters of every process that ran with env."""
    out = run([UFS, "stats", env["UFSHIM_STATS_DIR"]], env={k: v for k, v in env.items() if k != "LD_PRELOAD"}, text=True)
    values = {}
    for line in out.stdout.splitlines()[1:]:
        name, _, value = line.strip().rpartition(" ")
        values[name.strip()] = int(value)
    return values


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Proxy:
    """tools/proxy.py in front of the S3 server, for the life of a test."""

    def __init__(self, target, rtt_ms=0, fail=0, stream_mb_s=0, fail_writes=False):
        self.proc = subprocess.Popen([PY, os.path.join(ROOT, "tools", "proxy.py"), "--target", target,
                                      "--rtt-ms", str(rtt_ms), "--fail", str(fail), "--stream-mb-s", str(stream_mb_s)]
                                     + (["--fail-writes"] if fail_writes else []),
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        assert line and line[0] == "ready", "proxy did not start"
        self.endpoint = f"http://127.0.0.1:{line[1]}"

    def stop(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def proxy_factory(uploaded):
    proxies = []

    def make(**kw):
        p = Proxy(uploaded["S3_ENDPOINT"].split("//", 1)[1], **kw)
        proxies.append(p)
        return p
    yield make
    for p in proxies:
        p.stop()
