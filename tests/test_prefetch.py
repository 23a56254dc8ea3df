"""Cold-read speed machinery, by its observable effects: cross-file prefetch brings in the rest
of a tree after a few misses and never fetches an object twice, however many processes race;
it stops at the cache budget; a large object is read sequentially in parallel parts (each block
once), a random small read costs one request, a random reader soon has the whole object
fetched in the background, and memory stays bounded."""
import os
import random
import subprocess
import time

from conftest import MOUNT, PY, UFS, counters, run, sha256, shim_env

MANY = 1100
BLOCK = 1 << 20

READ_SOME_THEN_ALL = """
import hashlib, os, random, sys
d = sys.argv[1]
names = sorted(os.listdir(d))
for n in names[:4]:                       # four cold misses start the prefetch
    open(os.path.join(d, n), 'rb').read()
print('missed', flush=True)
sys.stdin.readline()                      # the test waits for the prefetch meanwhile
random.Random(int(sys.argv[2])).shuffle(names)
h = hashlib.sha256()
for n in sorted(names):
    h.update(open(os.path.join(d, n), 'rb').read())
print(h.hexdigest())
"""


def local_digest(local_tree, sub):
    import hashlib
    h = hashlib.sha256()
    d = os.path.join(local_tree, sub)
    for n in sorted(os.listdir(d)):
        with open(os.path.join(d, n), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def wait_for(predicate, what, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


def test_prefetch_brings_in_the_rest_of_the_tree_after_a_few_misses(local_tree, env):
    p = subprocess.Popen([PY, "-c", READ_SOME_THEN_ALL, f"{MOUNT}/many", "1"], env=env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "missed"
    wait_for(lambda: counters(env)["files prefetched"] == MANY - 4, "the prefetch of many/")
    out, _ = p.communicate("go\n", timeout=300)
    assert out.strip() == local_digest(local_tree, "many")
    c = counters(env)
    assert c["GET requests"] == MANY, "every object fetched exactly once"
    assert c["cache hits (opens)"] >= MANY - 4


def test_racing_processes_and_prefetchers_fetch_each_object_once(local_tree, env):
    procs = [subprocess.Popen([PY, "-c", READ_SOME_THEN_ALL, f"{MOUNT}/many", str(seed)], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for seed in range(3)]
    for p in procs:
        assert p.stdout.readline().strip() == "missed"
    outs = {p.communicate("go\n", timeout=300)[0].strip() for p in procs}   # all read at once
    assert outs == {local_digest(local_tree, "many")}
    assert counters(env)["GET requests"] == MANY


def test_prefetch_stops_at_the_cache_budget(uploaded, cache_dir):
    log = os.path.join(cache_dir, "log")
    env = shim_env(uploaded, cache_dir, UFSHIM_CACHE_SIZE="2M", UFSHIM_LOG="info", UFSHIM_LOG_FILE=log)
    p = subprocess.Popen([PY, "-c", READ_SOME_THEN_ALL, f"{MOUNT}/many", "1"], env=env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "missed"
    wait_for(lambda: os.path.exists(log) and "prefetch: stopped" in open(log).read(), "the prefetch to stop")
    c = counters(env)
    plain = {k: v for k, v in env.items() if k != "LD_PRELOAD"}
    used = float(run([UFS, "cache", "info"], env=plain, text=True).stdout.split("used:")[1].split()[0])
    p.kill()
    p.wait()
    assert used <= 2.0 * 0.8 + 0.1, "prefetch fills at most its share of the cache"
    assert c["bytes evicted"] == 0, "prefetch never evicts"
    assert 50 < c["files prefetched"] < MANY - 4


def test_sequential_read_of_a_large_object_uses_parallel_parts(local_tree, env):
    path = os.path.join(local_tree, "big", "large.bin")
    size = os.path.getsize(path)
    out = run(["md5sum", f"{MOUNT}/big/large.bin"], env=env, text=True)
    assert out.stdout.split()[0] == run(["md5sum", path], text=True).stdout.split()[0]
    c = counters(env)
    assert c["blocks fetched"] == (size + BLOCK - 1) // BLOCK, "each block once"
    assert c["bytes fetched"] == size
    parts = (size + (8 << 20) - 1) // (8 << 20)
    assert c["GET requests"] <= parts + 2, "8 MiB parts, not one request per block"


def test_random_small_read_costs_one_request(local_tree, env):
    script = f"""
import os
fd = os.open('{MOUNT}/big/large.bin', os.O_RDONLY)
print(os.pread(fd, 4096, (30 << 20) + 5).hex())
"""
    out = run([PY, "-c", script], env=env, text=True)
    with open(os.path.join(local_tree, "big", "large.bin"), "rb") as f:
        f.seek((30 << 20) + 5)
        assert out.stdout.strip() == f.read(4096).hex()
    c = counters(env)
    assert c["GET requests"] == 1 and c["blocks fetched"] == 1


def test_a_random_reader_gets_the_whole_object_fetched_in_the_background(local_tree, env):
    script = f"""
import os, random, sys
fd = os.open('{MOUNT}/big/large.bin', os.O_RDONLY)
size = os.fstat(fd).st_size
rng = random.Random(5)
for _ in range(6):
    os.pread(fd, 4096, rng.randrange(0, size - 4096))
print('read', flush=True)
sys.stdin.readline()
"""
    size = os.path.getsize(os.path.join(local_tree, "big", "large.bin"))
    blocks = (size + BLOCK - 1) // BLOCK
    p = subprocess.Popen([PY, "-c", script], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "read"
    wait_for(lambda: counters(env)["blocks fetched"] == blocks, "the rest of the object")
    p.communicate("done\n", timeout=60)
    assert counters(env)["bytes fetched"] == size, "each block fetched once"
    run(["cmp", f"{MOUNT}/big/large.bin", os.path.join(local_tree, "big", "large.bin")], env=env)


def test_memory_stays_bounded_while_reading_a_large_object(local_tree, uploaded, cache_dir):
    env = shim_env(uploaded, cache_dir, UFSHIM_INFLIGHT="16M")
    script = f"""
import hashlib
def hwm():
    return int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]) * 1024
before = hwm()
h = hashlib.sha256()
with open('{MOUNT}/big/large.bin', 'rb') as f:
    while chunk := f.read(1 << 20):
        h.update(chunk)
print(h.hexdigest(), hwm() - before)
"""
    digest, growth = run([PY, "-c", script], env=env, text=True).stdout.split()
    assert digest == sha256(os.path.join(local_tree, "big", "large.bin"))
    assert int(growth) < 48 << 20, f"peak memory grew by {int(growth) >> 20} MiB reading a 70 MiB object"
