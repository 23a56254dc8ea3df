"""The listing index: one flat listing of a mount, persisted in the cache and shared by every
process on the node (a second job, or ranks started together, list nothing), exported and
imported as a file, and `ufs load` warming the cache or just the index."""
import json
import os
import subprocess

from conftest import BUCKET, MOUNT, PY, UFS, counters, run, shim_env

WALK = """
import os, sys
out = []
for d, dirs, files in os.walk(sys.argv[1]):
    rel = os.path.relpath(d, sys.argv[1])
    out.append(("D", rel, tuple(sorted(dirs))))
    for f in files:
        out.append(("F", os.path.join(rel, f), os.stat(os.path.join(d, f)).st_size))
print(repr(sorted(out)))
"""


def walk(root, env=None):
    return run([PY, "-c", WALK, root], env=env, text=True).stdout


def plain(env):
    return {k: v for k, v in env.items() if k != "LD_PRELOAD"}


def test_index_answers_walk_and_stat_and_is_shared_by_the_next_process(local_tree, env):
    want = walk(local_tree)
    assert walk(MOUNT, env) == want
    first = counters(env)
    assert first["HEAD requests"] == 0 and first["LIST requests"] > 0
    assert walk(MOUNT, env) == want                 # a new process: the index on disk answers
    second = counters(env)
    assert second["LIST requests"] == first["LIST requests"]
    assert second["HEAD requests"] == 0 and second["GET requests"] == 0


def test_processes_started_together_list_the_store_once(local_tree, uploaded, tmp_path):
    alone = shim_env(uploaded, str(tmp_path / "alone"))
    walk(MOUNT, alone)
    one_build = counters(alone)["LIST requests"]
    together = shim_env(uploaded, str(tmp_path / "together"))
    procs = [subprocess.Popen([PY, "-c", WALK, MOUNT], env=together, stdout=subprocess.PIPE, text=True)
             for _ in range(6)]
    outs = {p.communicate(timeout=300)[0] for p in procs}
    assert outs == {walk(local_tree)}
    assert counters(together)["LIST requests"] == one_build


def test_missing_paths_are_answered_by_the_index(env):
    script = f"""
import os
for p in ['{MOUNT}/nope', '{MOUNT}/images/nope.JPEG', '{MOUNT}/top.txt/below']:
    try:
        os.stat(p)
    except OSError as e:
        print(e.errno, end=' ')
"""
    out = run([PY, "-c", script], env=env, text=True)
    assert out.stdout.split() == ["2", "2", "20"]      # ENOENT, ENOENT, ENOTDIR
    c = counters(env)
    assert c["HEAD requests"] == 0


def test_index_export_and_import_spare_the_listing(local_tree, env, tmp_path):
    walk(MOUNT, env)
    exported = str(tmp_path / "data.index")
    run([UFS, "index", "export", MOUNT, exported], env=plain(env))
    run([UFS, "cache", "clear"], env=plain(env))
    listed = counters(env)["LIST requests"]
    run([UFS, "index", "import", exported, MOUNT], env=plain(env))
    assert walk(MOUNT, env) == walk(local_tree)
    assert counters(env)["LIST requests"] == listed
    other = dict(plain(env), UFSHIM_MOUNTS=f"/other=s3://{BUCKET}/elsewhere?endpoint={env['UFSHIM_MOUNTS'].split('endpoint=')[1]}")
    bad = run([UFS, "index", "import", exported, "/other"], env=other, check=False, text=True)
    assert bad.returncode == 1 and "not a listing index of s3://ufshim-test/elsewhere/" in bad.stderr


def test_index_off_lists_directory_by_directory(local_tree, uploaded, cache_dir):
    env = shim_env(uploaded, cache_dir, mounts=f"{MOUNT}=s3://{BUCKET}/data?endpoint={uploaded['S3_ENDPOINT']}&index=0")
    assert walk(MOUNT, env) == walk(local_tree)
    assert counters(env)["HEAD requests"] == 0


def test_ufs_load_warms_the_cache_and_resumes(local_tree, env):
    out = run([UFS, "load", f"{MOUNT}/images"], env=plain(env), text=True)
    assert "load: 48/48 files" in out.stderr and "48 files (0 already cached)" in out.stderr
    fetched = counters(env)["GET requests"]
    assert fetched == 48
    again = run([UFS, "load", f"{MOUNT}/images", f"{MOUNT}/big"], env=plain(env), text=True)
    assert "48 files (48 already cached), 0.0 MiB fetched" in again.stderr
    # the large object is fetched in parts; a third load finds it complete
    third = run([UFS, "load", f"{MOUNT}/big"], env=plain(env), text=True)
    assert "1 files (1 already cached), 0.0 MiB fetched" in third.stderr
    before = counters(env)["GET requests"]
    run([PY, os.path.join(os.path.dirname(__file__), "programs", "loader.py"), MOUNT], env=env)
    run(["cmp", f"{MOUNT}/big/large.bin", os.path.join(local_tree, "big", "large.bin")], env=env)
    assert counters(env)["GET requests"] == before, "a loaded tree must be read without requests"


def test_ufs_load_metadata_only_builds_just_the_index(env):
    out = run([UFS, "load", "--metadata-only", MOUNT], env=plain(env), text=True)
    assert "index of s3://ufshim-test/data/ has" in out.stderr
    c = counters(env)
    assert c["GET requests"] == 0 and c["LIST requests"] > 0
    run(["ls", "-lR", MOUNT], env=env)
    assert counters(env)["LIST requests"] == c["LIST requests"]


def write_index(path, origin, keys):
    """An index file in the documented format (cache/index.c), made without listing anything."""
    import struct
    recs, offs, pos = bytearray(), [], 4096
    for k in keys:
        kb = k.encode()
        rec = struct.pack("<HBBQq", len(kb), 4, 0, 100, 1700000000) + kb + b"etag"
        offs.append(pos)
        recs += rec
        pos += len(rec)
    offsets_at = (pos + 7) & ~7
    ob = origin.encode()
    header = struct.pack("<QQQqI", 0x5546534944583031, len(keys), offsets_at, 0, len(ob)).ljust(64, b"\0") + ob
    with open(path, "wb") as f:
        f.write(header.ljust(4096, b"\0"))
        f.write(recs)
        f.write(b"\0" * (offsets_at - pos))
        f.write(struct.pack(f"<{len(offs)}Q", *offs))


def test_a_huge_directory_streams_in_bounded_memory(uploaded, cache_dir, tmp_path):
    n = 1_000_000
    mounts = f"/ufs/huge=s3://{BUCKET}/huge?endpoint={uploaded['S3_ENDPOINT']}"
    env = shim_env(uploaded, cache_dir, mounts=mounts)
    path = str(tmp_path / "huge.index")
    write_index(path, f"s3://{BUCKET}/huge/", [f"flat/f{i:07d}" for i in range(n)] + ["other/x"])
    run([UFS, "index", "import", path, "/ufs/huge"], env=plain(env))
    script = """
import os
def anon():     # private memory; the mapped index is page cache, shared and reclaimable
    return int([l for l in open('/proc/self/status') if l.startswith('RssAnon')][0].split()[1]) * 1024
before, peak = anon(), 0
count, last = 0, None
with os.scandir('/ufs/huge/flat') as it:
    for e in it:
        count += 1
        last = e.name
        if count % 50000 == 0:
            peak = max(peak, anon() - before)
print(json.dumps([count, last, sorted(os.listdir('/ufs/huge')), peak]))
"""
    count, last, top, growth = json.loads(run([PY, "-c", "import json\n" + script], env=env, text=True).stdout)
    assert (count, last, top) == (n, f"f{n - 1:07d}", ["flat", "other"])
    assert growth < 16 << 20, f"listing 1,000,000 entries grew private memory by {growth >> 20} MiB"
    assert counters(env)["LIST requests"] == 0
