"""Writes through a mount: checkpoints (torch.save, np.save), coreutils, tar, bash appends, sqlite
on a cache-mode mount, multipart uploads, upload failures and killed uploads. Every result is
compared byte for byte with the same operation on local disk, and read back from the store by a
process with an empty cache (so it cannot come from this node's copy)."""
import hashlib
import os
import signal
import subprocess
import tarfile
import time
import uuid

import pytest

from conftest import BUCKET, PY, UFS, run, shim_env, counters

MNT = "/ufs/w"


def boto(s3):
    import boto3
    return boto3.client("s3", endpoint_url=s3["S3_ENDPOINT"], region_name="us-east-1",
                        aws_access_key_id=s3["AWS_ACCESS_KEY_ID"], aws_secret_access_key=s3["AWS_SECRET_ACCESS_KEY"])


@pytest.fixture
def where(uploaded):
    """A fresh location in the bucket for one test."""
    return f"w/{uuid.uuid4().hex[:12]}"


def wenv(s3, cache_dir, where, endpoint=None, **opts):
    q = "&".join(f"{k}={v}" for k, v in opts.items())
    return shim_env(s3, cache_dir, mounts=f"{MNT}=s3://{BUCKET}/{where}?endpoint={endpoint or s3['S3_ENDPOINT']}"
                    + (f"&{q}" if q else ""))


def store_bytes(s3, key):
    return boto(s3).get_object(Bucket=BUCKET, Key=key)["Body"].read()


def store_keys(s3, prefix):
    out = boto(s3).list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/")
    return sorted(o["Key"][len(prefix) + 1:] for o in out.get("Contents", []))


def sh(script, env, check=True):
    return run(["bash", "-c", script], env=env, text=True, check=check)


def digest_tree(root):
    """{relative path: sha256 or 'dir'} of a tree, read with plain Python (under the shim or not)."""
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs:
            out[os.path.relpath(os.path.join(d, n), root)] = "dir"
        for n in files:
            with open(os.path.join(d, n), "rb") as f:
                out[os.path.relpath(os.path.join(d, n), root)] = hashlib.sha256(f.read()).hexdigest()
    return out


DIGEST = f"""
import hashlib, json, os, sys
sys.path.insert(0, {os.path.dirname(__file__)!r})
from test_write import digest_tree
print(json.dumps(digest_tree(sys.argv[1]), sort_keys=True))
"""


def digest_mounted(env, root=MNT):
    import json
    return json.loads(run([PY, "-c", DIGEST, root], env=env, text=True).stdout)


def fresh(uploaded, tmp_path, where, name="fresh"):
    """An environment on the same location with an empty cache: reads come from the store."""
    d = tmp_path / name
    d.mkdir()
    return wenv(uploaded, str(d), where)


def test_torch_save_then_load_in_another_process(uploaded, cache_dir, where, tmp_path):
    env = wenv(uploaded, cache_dir, where)
    local = tmp_path / "ckpt.pt"   # torch names the archive after the file
    save = f"""
import torch, torchvision
torch.manual_seed(0)
sd = torchvision.models.resnet18().state_dict()
torch.save(sd, {str(local)!r})
torch.save(sd, "{MNT}/ckpt.pt")
"""
    run([PY, "-c", save], env=env)
    want = local.read_bytes()
    assert store_bytes(uploaded, f"{where}/ckpt.pt") == want, "the store holds what local disk holds"
    load = f"""
import torch
a = torch.load("{MNT}/ckpt.pt")
b = torch.load({str(local)!r})
assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
print(len(a))
"""
    assert int(run([PY, "-c", load], env=env, text=True).stdout) > 50          # same node
    assert int(run([PY, "-c", load], env=fresh(uploaded, tmp_path, where), text=True).stdout) > 50


def test_numpy_save_and_load(uploaded, cache_dir, where, tmp_path):
    env = wenv(uploaded, cache_dir, where)
    code = f"""
import numpy as np
a = np.arange(3_000_000, dtype=np.float32).reshape(1000, 3000)
np.save({str(tmp_path / 'a.npy')!r}, a)
np.save("{MNT}/a.npy", a)
assert (np.load("{MNT}/a.npy") == a).all()
"""
    run([PY, "-c", code], env=env)
    assert store_bytes(uploaded, f"{where}/a.npy") == (tmp_path / "a.npy").read_bytes()


def test_cp_and_dd_notrunc_into_an_existing_object(uploaded, cache_dir, where, tmp_path):
    env = wenv(uploaded, cache_dir, where)
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(3_000_000))
    local = tmp_path / "local.bin"
    patch = tmp_path / "patch.bin"
    patch.write_bytes(b"P" * 5000)
    script = (f"cp {src} {{dst}} && dd if={patch} of={{dst}} bs=1000 seek=7 conv=notrunc status=none && "
              f"dd if={patch} of={{dst}} bs=1000 seek=2999 conv=notrunc status=none")
    sh(script.format(dst=local), None)
    sh(script.format(dst=f"{MNT}/obj.bin"), env)
    want = local.read_bytes()
    assert len(want) == 3_004_000
    assert store_bytes(uploaded, f"{where}/obj.bin") == want
    # and an update of an object this node never wrote: fetched, patched, published
    env2 = fresh(uploaded, tmp_path, where)
    sh(f"dd if={patch} of={local} bs=1 seek=100 conv=notrunc status=none", None)
    sh(f"dd if={patch} of={MNT}/obj.bin bs=1 seek=100 conv=notrunc status=none", env2)
    assert store_bytes(uploaded, f"{where}/obj.bin") == local.read_bytes()


def make_tar(tmp_path):
    tree = tmp_path / "tree"
    for d in ["a/b/c", "a/empty", "d"]:
        (tree / d).mkdir(parents=True)
    for i in range(30):
        (tree / f"a/b/c/f{i}.txt").write_text(f"file {i}\n" * (i * 100 + 1))
    (tree / "d/big.bin").write_bytes(os.urandom(9 << 20))
    (tree / "top.txt").write_text("top\n")
    for p in tree.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    tar = tmp_path / "t.tar"
    with tarfile.open(tar, "w") as t:
        t.add(tree, arcname="tree")
    return tar


def test_tar_xf_into_a_mount(uploaded, cache_dir, where, tmp_path):
    env = wenv(uploaded, cache_dir, where)
    tar = make_tar(tmp_path)
    (tmp_path / "out").mkdir()
    sh(f"tar xf {tar} -C {tmp_path / 'out'}", None)
    sh(f"tar xf {tar} -C {MNT}", env)
    want = digest_tree(tmp_path / "out")
    assert digest_mounted(env) == want
    assert digest_mounted(fresh(uploaded, tmp_path, where)) == want, "every file reached the store"


def test_mkdir_p_mv_and_rm_r_as_on_local_disk(uploaded, cache_dir, where, tmp_path):
    env = wenv(uploaded, cache_dir, where)
    script = """set -e
cd {root}
mkdir -p x/y/z
echo one > x/y/z/one.txt
echo two > x/two.txt
mv x/two.txt x/y/renamed.txt
mv x/y x/moved
mkdir -p gone/deeper && echo g > gone/deeper/g.txt
rm -r gone
echo keep > keep.txt && mv keep.txt kept.txt
ls -R .
"""
    (tmp_path / "loc").mkdir()
    local = sh(script.format(root=tmp_path / "loc"), None).stdout
    assert sh(script.format(root=MNT), env).stdout == local
    assert digest_mounted(fresh(uploaded, tmp_path, where)) == digest_tree(tmp_path / "loc")
    assert not any(k.startswith("gone") for k in store_keys(uploaded, where))
    # a non-empty directory is not removed by rmdir
    r = sh(f"rmdir {MNT}/x", env, check=False)
    assert r.returncode != 0 and "not empty" in r.stderr


def test_appending_from_bash(uploaded, cache_dir, where, tmp_path):
    env = wenv(uploaded, cache_dir, where)
    script = "for i in 1 2 3 4 5; do echo line $i >> {f}; done; cat {f} >> {f}.copy; echo end >> {f}.copy"
    sh(script.format(f=tmp_path / "log.txt"), None)
    sh(script.format(f=f"{MNT}/log.txt"), env)
    for name in ["log.txt", "log.txt.copy"]:
        assert store_bytes(uploaded, f"{where}/{name}") == (tmp_path / name).read_bytes()


def test_sqlite_on_a_cache_mode_mount_stays_on_the_node(uploaded, cache_dir, where, tmp_path):
    env = wenv(uploaded, cache_dir, where, write="cache")
    code = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("create table t (k integer primary key, v text)")
with db:
    db.executemany("insert into t values (?, ?)", [(i, "v%d" % i * 20) for i in range(5000)])
db.execute("create index tv on t (v)")
db.commit()
db.close()
"""
    run([PY, "-c", code, str(tmp_path / "local.db")])
    r = run([PY, "-c", code, f"{MNT}/nodir/t.db"], env=env, check=False, text=True)
    assert r.returncode != 0 and "unable to open database" in r.stderr, "no parent directory: ENOENT"
    sh(f"mkdir {MNT}/dbs", env)
    run([PY, "-c", code, f"{MNT}/dbs/t.db"], env=env)
    query = "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*), sum(length(v)) from t').fetchone())"
    assert run([PY, "-c", query, f"{MNT}/dbs/t.db"], env=env, text=True).stdout == \
        run([PY, "-c", query, str(tmp_path / "local.db")], text=True).stdout
    assert store_keys(uploaded, where) == [], "mode cache never uploads"
    assert counters(env).get("PUT/POST requests", 0) == 0
    sh(f"rm {MNT}/dbs/t.db", env)
    assert sh(f"ls {MNT}/dbs", env).stdout == ""


def test_a_large_file_goes_up_in_parts_while_it_is_written(uploaded, cache_dir, where, tmp_path):
    env = wenv(uploaded, cache_dir, where)
    code = f"""
import os, hashlib
h = hashlib.sha256()
with open("{MNT}/big.bin", "wb") as f:
    for i in range(72):
        block = os.urandom(1 << 20)
        h.update(block)
        f.write(block)
print(h.hexdigest())
"""
    want = run([PY, "-c", code], env=env, text=True).stdout.strip()
    head = boto(uploaded).head_object(Bucket=BUCKET, Key=f"{where}/big.bin")
    assert head["ContentLength"] == 72 << 20 and head["ETag"].endswith('-9"'), head["ETag"]
    assert hashlib.sha256(store_bytes(uploaded, f"{where}/big.bin")).hexdigest() == want
    assert boto(uploaded).list_multipart_uploads(Bucket=BUCKET, Prefix=where).get("Uploads", []) == []
    c = counters(env)
    assert c["bytes uploaded"] == 72 << 20, "every part sent once: the early parts were reused"
    # cp of a large file (copy_file_range writes behind the hooks' back) is checked part by part
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(70 << 20))
    sh(f"cp {src} {MNT}/copied.bin", env)
    assert store_bytes(uploaded, f"{where}/copied.bin") == src.read_bytes()


def test_failed_upload_gives_eio_keeps_the_bytes_and_sync_publishes_them(uploaded, cache_dir, where, tmp_path,
                                                                         proxy_factory):
    proxy = proxy_factory(fail_writes=True)
    env = wenv(uploaded, cache_dir, where, endpoint=proxy.endpoint, retries=1, timeout=5)
    code = f"""
import errno, os
data = bytes(range(256)) * 4000
f = open("{MNT}/out.bin", "wb")
f.write(data)
try:
    f.close()
    print("closed")
except OSError as e:
    print("close failed", errno.errorcode[e.errno])
with open("{MNT}/out.bin", "rb") as g:
    assert g.read() == data, "the node still serves what was written"
"""
    r = run([PY, "-c", code], env=env, text=True)
    assert r.stdout.strip() == "close failed EIO"
    assert "upload failed" in r.stderr and "ufs sync" in r.stderr
    assert store_keys(uploaded, where) == []
    # the store is reachable again: `ufs sync` (same cache, the real endpoint) publishes
    good = wenv(uploaded, cache_dir, where)
    out = run([UFS, "sync"], env={k: v for k, v in good.items() if k != "LD_PRELOAD"}, text=True)
    assert "uploaded" in out.stdout
    assert store_bytes(uploaded, f"{where}/out.bin") == bytes(range(256)) * 4000
    again = run([UFS, "sync"], env={k: v for k, v in good.items() if k != "LD_PRELOAD"}, text=True)
    assert "nothing to upload" in again.stdout


def test_kill_9_during_an_async_upload_then_ufs_sync(uploaded, cache_dir, where, tmp_path, proxy_factory):
    slow = proxy_factory(rtt_ms=20, stream_mb_s=2)
    env = wenv(uploaded, cache_dir, where, endpoint=slow.endpoint, write="async")
    src = tmp_path / "ckpt.bin"
    src.write_bytes(os.urandom(40 << 20))
    code = f"""
import shutil, sys, time
shutil.copyfile({str(src)!r}, "{MNT}/ckpt.bin")   # close returns at once in mode async
print("closed", flush=True)
time.sleep(600)
"""
    p = subprocess.Popen([PY, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "closed"
    deadline = time.time() + 30
    while time.time() < deadline and not boto(uploaded).list_multipart_uploads(Bucket=BUCKET, Prefix=where).get("Uploads"):
        time.sleep(0.2)
    assert boto(uploaded).list_multipart_uploads(Bucket=BUCKET, Prefix=where).get("Uploads"), "upload under way"
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert store_keys(uploaded, where) == []
    good = wenv(uploaded, cache_dir, where)
    out = run([UFS, "sync"], env={k: v for k, v in good.items() if k != "LD_PRELOAD"}, text=True)
    assert "uploaded" in out.stdout
    assert store_bytes(uploaded, f"{where}/ckpt.bin") == src.read_bytes()
    assert boto(uploaded).list_multipart_uploads(Bucket=BUCKET, Prefix=where).get("Uploads", []) == [], \
        "the killed process's multipart upload was aborted"


def test_read_only_mount_refuses_writes(uploaded, cache_dir, where):
    env = wenv(uploaded, cache_dir, where, write="ro")
    for cmd in [f"echo x > {MNT}/f", f"mkdir {MNT}/d", f"touch {MNT}/t"]:
        r = sh(cmd, env, check=False)
        assert r.returncode != 0 and "Read-only file system" in r.stderr, cmd
    r = sh(f"rm {MNT}/nothing", env, check=False)
    assert "No such file" in r.stderr
    assert sh(f"test -w {MNT}; echo $?", env).stdout == "1\n", "access(W_OK) says read-only"
    flags = f"import os; print(os.statvfs('{MNT}').f_flag & os.ST_RDONLY != 0)"
    assert run([PY, "-c", flags], env=env, text=True).stdout == "True\n", "statvfs says read-only"


def test_chmod_and_link_answer_clearly(uploaded, cache_dir, where, tmp_path):
    env = wenv(uploaded, cache_dir, where)
    sh(f"echo x > {MNT}/f && chmod 644 {MNT}/f", env)       # what is already there: fine
    assert sh(f"test -w {MNT}/f && test -w {MNT} && echo writable", env).stdout == "writable\n"
    probe = f"""
import errno, os
print(os.statvfs('{MNT}').f_flag & os.ST_RDONLY != 0)
try:
    os.setxattr('{MNT}/f', 'user.k', b'v')
except OSError as e:
    print(errno.errorcode[e.errno])
"""
    assert run([PY, "-c", probe], env=env, text=True).stdout == "False\nENOTSUP\n"
    for cmd, msg in [(f"chmod 600 {MNT}/f", "Operation not permitted"), (f"ln {MNT}/f {MNT}/g", "Operation not permitted"),
                     (f"ln -s f {MNT}/s", "Operation not permitted"), (f"mv {MNT}/f {tmp_path}/", None)]:
        r = sh(cmd, env, check=msg is None)
        if msg:
            assert msg in r.stderr, cmd
    assert store_keys(uploaded, where) == [], "mv out of the mount copies, then removes the object"
    assert (tmp_path / "f").read_text() == "x\n"


def test_the_last_of_dup_and_fork_inherited_descriptors_publishes(uploaded, cache_dir, where):
    env = wenv(uploaded, cache_dir, where)
    code = f"""
import os, sys
fd = os.open("{MNT}/shared.bin", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
os.write(fd, b"parent\\n")
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.read(r, 1)                      # until the parent has closed its descriptors
    os.write(fd, b"child\\n")
    os.close(fd)
    os._exit(0)
d = os.dup(fd)
os.close(fd)
os.close(d)
print("parent closed", flush=True)
sys.stdin.readline()
os.write(w, b"x")
os.waitpid(pid, 0)
"""
    p = subprocess.Popen([PY, "-c", code], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "parent closed"
    assert store_keys(uploaded, where) == [], "the child still writes: nothing is published yet"
    p.communicate("go\n", timeout=60)
    assert p.returncode == 0
    assert store_bytes(uploaded, f"{where}/shared.bin") == b"parent\nchild\n"


def test_mmap_and_stdio_writers(uploaded, cache_dir, where, tmp_path):
    env = wenv(uploaded, cache_dir, where)
    code = """
import ctypes, mmap, os, sys
root = sys.argv[1]
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
f = libc.fopen((root + "/stdio.txt").encode(), b"w")
for i in range(1000):
    libc.fputs(b"a line written through stdio\\n", ctypes.c_void_p(f))
assert libc.fclose(ctypes.c_void_p(f)) == 0
libc.freopen.restype = ctypes.c_void_p
f = libc.freopen((root + "/reopened.txt").encode(), b"w", ctypes.c_void_p(libc.fopen(b"/dev/null", b"w")))
libc.fputs(b"written after freopen\\n", ctypes.c_void_p(f))
assert libc.fclose(ctypes.c_void_p(f)) == 0
with open(root + "/mapped.bin", "wb") as g:
    g.truncate(20 << 20)
with open(root + "/mapped.bin", "r+b") as g:
    m = mmap.mmap(g.fileno(), 0)
    for off in range(0, 20 << 20, 1 << 20):
        m[off:off + 5] = b"%05d" % (off >> 20)
    m.flush()
    m.close()
"""
    run([PY, "-c", code, str(tmp_path)])
    run([PY, "-c", code, MNT], env=env)
    for name in ["stdio.txt", "reopened.txt", "mapped.bin"]:
        assert store_bytes(uploaded, f"{where}/{name}") == (tmp_path / name).read_bytes(), name


def test_fsync_publishes_what_is_written_so_far(uploaded, cache_dir, where):
    env = wenv(uploaded, cache_dir, where)
    code = f"""
import os, sys
f = open("{MNT}/log.txt", "wb")
f.write(b"first\\n")
f.flush()
os.fsync(f.fileno())
print("synced", flush=True)
sys.stdin.readline()
f.write(b"second\\n")
f.close()
"""
    p = subprocess.Popen([PY, "-c", code], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "synced"
    assert store_bytes(uploaded, f"{where}/log.txt") == b"first\n"
    p.communicate("go\n", timeout=60)
    assert p.returncode == 0
    assert store_bytes(uploaded, f"{where}/log.txt") == b"first\nsecond\n"


def test_async_close_returns_at_once_and_exit_waits_for_the_upload(uploaded, cache_dir, where, tmp_path,
                                                                   proxy_factory):
    slow = proxy_factory(rtt_ms=20, stream_mb_s=1)
    env = wenv(uploaded, cache_dir, where, endpoint=slow.endpoint, write="async")
    src = tmp_path / "ckpt.bin"
    src.write_bytes(os.urandom(12 << 20))
    code = f"""
import shutil, sys
shutil.copyfile({str(src)!r}, "{MNT}/ckpt.bin")
print("closed", flush=True)
sys.stdin.readline()
"""
    p = subprocess.Popen([PY, "-c", code], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "closed"
    assert store_keys(uploaded, where) == [], "close did not wait for the upload"
    out, err = p.communicate("exit\n", timeout=120)     # exit waits for the queued upload
    assert p.returncode == 0 and "waiting up to" in err, err
    assert store_bytes(uploaded, f"{where}/ckpt.bin") == src.read_bytes()
