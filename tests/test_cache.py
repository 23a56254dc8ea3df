"""The shared block cache: one fetch per block across concurrent processes, nothing a later
reader could mistake for data after a SIGKILL mid-fetch, a replaced object never served mixed,
the size cap, and stat of listed entries costing no request."""
import os
import signal
import subprocess
import time

import boto3
import pytest

from conftest import BUCKET, MOUNT, PY, UFS, counters, run, sha256, shim_env

BLOCK = 1 << 20


def test_concurrent_readers_fetch_each_block_once(local_tree, env):
    size = os.path.getsize(os.path.join(local_tree, "big", "large.bin"))
    procs = [subprocess.Popen(["md5sum", f"{MOUNT}/big/large.bin"], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    sums = {p.communicate(timeout=300)[0].split()[0] for p in procs}
    want = run(["md5sum", os.path.join(local_tree, "big", "large.bin")], text=True).stdout.split()[0]
    assert sums == {want}
    c = counters(env)
    assert c["blocks fetched"] == (size + BLOCK - 1) // BLOCK, c
    assert c["bytes fetched"] == size


def test_sigkill_mid_fetch_leaves_nothing_mistakable(local_tree, uploaded, cache_dir, proxy_factory):
    proxy = proxy_factory(rtt_ms=40, stream_mb_s=2)      # slow enough to be killed mid-transfer
    env = shim_env(uploaded, cache_dir, mounts=f"{MOUNT}=s3://{BUCKET}/data?endpoint={proxy.endpoint}")
    p = subprocess.Popen(["cat", f"{MOUNT}/big/large.bin"], env=env, stdout=subprocess.DEVNULL)
    time.sleep(1.5)
    assert p.poll() is None, "the reader finished before it could be killed; slow the proxy down"
    p.send_signal(signal.SIGKILL)
    p.wait()
    fetched_before = counters(env)["blocks fetched"]
    direct = shim_env(uploaded, cache_dir)
    out = run(["md5sum", f"{MOUNT}/big/large.bin"], env=direct, text=True)
    want = run(["md5sum", os.path.join(local_tree, "big", "large.bin")], text=True).stdout.split()[0]
    assert out.stdout.split()[0] == want
    size = os.path.getsize(os.path.join(local_tree, "big", "large.bin"))
    # the killed reader's completed blocks were reused, the rest fetched once
    assert counters(direct)["blocks fetched"] == (size + BLOCK - 1) // BLOCK
    assert fetched_before < (size + BLOCK - 1) // BLOCK


@pytest.fixture
def s3client(uploaded):
    return boto3.client("s3", endpoint_url=uploaded["S3_ENDPOINT"], region_name="us-east-1",
                        aws_access_key_id=uploaded["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=uploaded["AWS_SECRET_ACCESS_KEY"])


READ_ACROSS_REPLACEMENT = """
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
first = os.pread(fd, 1 << 20, 0)
print(first[:1].decode(), flush=True)
sys.stdin.readline()                      # the object is replaced meanwhile
try:
    rest = os.pread(fd, 1 << 20, 5 << 20)
    print('read', rest[:1].decode())
except OSError as e:
    print('error', errno.errorcode[e.errno])
"""


def test_a_replaced_object_is_never_served_mixed(uploaded, cache_dir, s3client):
    key = "mutable/obj.bin"          # under scratch/, not data/: the shared dataset stays as it is
    s3client.put_object(Bucket=BUCKET, Key=f"scratch/{key}", Body=b"A" * (8 << 20))
    env = shim_env(uploaded, cache_dir, mounts=f"{MOUNT}=s3://{BUCKET}/scratch?endpoint={uploaded['S3_ENDPOINT']}&meta_ttl=0")
    p = subprocess.Popen([PY, "-c", READ_ACROSS_REPLACEMENT, f"{MOUNT}/{key}"], env=env, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "A"
    s3client.put_object(Bucket=BUCKET, Key=f"scratch/{key}", Body=b"B" * (8 << 20))
    out, err = p.communicate("go\n", timeout=120)
    assert out.strip() == "error EIO", (out, err)      # an old reader never gets new bytes
    fresh = run([PY, "-c", f"d=open('{MOUNT}/{key}','rb').read(); print(len(d), set(d))"], env=env, text=True)
    assert fresh.stdout.strip() == f"{8 << 20} {{66}}"   # a new open sees the new version whole


def test_cache_stays_under_its_size_cap(local_tree, uploaded, cache_dir):
    env = shim_env(uploaded, cache_dir, UFSHIM_CACHE_SIZE="24M")
    out = run(["bash", "-c", f"md5sum {MOUNT}/big/large.bin; cat {MOUNT}/images/*/* | md5sum"], env=env, text=True)
    want = run(["bash", "-c", f"md5sum {local_tree}/big/large.bin; cat {local_tree}/images/*/* | md5sum"], text=True)
    assert out.stdout.replace(MOUNT, local_tree) == want.stdout
    plain = {k: v for k, v in env.items() if k != "LD_PRELOAD"}
    info = run([UFS, "cache", "info"], env=plain, text=True).stdout
    used = float(info.split("used:")[1].split()[0])
    assert used <= 24, info
    assert counters(env)["bytes evicted"] > 0


def test_cache_is_shared_by_processes_and_survives_restarts(env):
    run(["cat", f"{MOUNT}/top.txt", f"{MOUNT}/special/with space.txt"], env=env)
    before = counters(env)["GET requests"]
    run(["cat", f"{MOUNT}/top.txt", f"{MOUNT}/special/with space.txt"], env=env)
    after = counters(env)
    assert before == 2 and after["GET requests"] == 2
    assert after["cache hits (opens)"] == 2


def test_stat_of_listed_entries_costs_no_request_without_the_index(uploaded, cache_dir):
    env = shim_env(uploaded, cache_dir, mounts=f"{MOUNT}=s3://{BUCKET}/data?endpoint={uploaded['S3_ENDPOINT']}&index=0")
    script = f"""
import os
names = os.listdir('{MOUNT}/many')
sizes = [os.stat('{MOUNT}/many/' + n).st_size for n in names]
print(len(names), sum(sizes))
"""
    out = run([PY, "-c", script], env=env, text=True)
    assert out.stdout.split()[0] == "1100"
    c = counters(env)
    assert c["HEAD requests"] == 0
    assert c["LIST requests"] == 2            # 1,100 entries: two pages


def test_ufs_cache_clear_empties_the_cache(env):
    run(["cat", f"{MOUNT}/top.txt"], env=env)
    plain = {k: v for k, v in env.items() if k != "LD_PRELOAD"}
    out = run([UFS, "cache", "clear"], env=plain, text=True)
    assert "removed" in out.stdout
    info = run([UFS, "cache", "info"], env=plain, text=True).stdout
    assert float(info.split("used:")[1].split()[0]) == 0.0


def test_expired_metadata_is_refreshed_by_listing_not_per_file(uploaded, cache_dir):
    env = shim_env(uploaded, cache_dir, mounts=f"{MOUNT}=s3://{BUCKET}/data?endpoint={uploaded['S3_ENDPOINT']}&meta_ttl=1&index=0")
    script = f"""
import os, time
d = '{MOUNT}/many'
names = os.listdir(d)
time.sleep(1.5)                                   # every entry has expired now
print(sum(os.stat(os.path.join(d, n)).st_size for n in names))
"""
    out = run([PY, "-c", script], env=env, text=True)
    assert int(out.stdout) == sum(len(str(i)) for i in range(1100))
    c = counters(env)
    assert c["HEAD requests"] == 0
    assert c["LIST requests"] < 40          # a re-listing (2 pages) per second at most, not 1,100 HEADs


THREADED_READS = """
import hashlib, os, random, sys
from concurrent.futures import ThreadPoolExecutor
path, size = sys.argv[1], os.path.getsize(sys.argv[1])
offsets = [random.Random(i).randrange(0, size) for i in range(64)]
fd = os.open(path, os.O_RDONLY)
with ThreadPoolExecutor(8) as pool:
    chunks = list(pool.map(lambda off: os.pread(fd, 300000, off), offsets))
print(hashlib.sha256(b''.join(chunks)).hexdigest())
"""


def test_threads_reading_one_large_file_at_once(local_tree, env):
    want = run([PY, "-c", THREADED_READS, os.path.join(local_tree, "big", "large.bin")], text=True).stdout
    got = run([PY, "-c", THREADED_READS, f"{MOUNT}/big/large.bin"], env=env, text=True).stdout
    assert got == want


def test_a_large_file_fd_inherited_across_exec_is_complete(local_tree, env):
    # bash opens fd 3 through the shim; md5sum, a new program, reads it with no hooks of ours
    out = run(["bash", "-c", f"exec 3<{MOUNT}/big/large.bin; md5sum <&3"], env=env, text=True)
    want = run(["md5sum", os.path.join(local_tree, "big", "large.bin")], text=True).stdout.split()[0]
    assert out.stdout.split()[0] == want
