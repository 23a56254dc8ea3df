"""Bad input gets a clear errno and log line and loses nothing: a wrong secret, missing
credentials, an unreachable endpoint, server faults, malformed configuration. The host process
never crashes or hangs, and paths outside the mounts keep working."""
import os

from conftest import BUCKET, MOUNT, PY, UFS, counters, run, shim_env

PROBE = """
import errno, os, sys
for p in sys.argv[1:]:
    try:
        with open(p, 'rb') as f:
            print(p, 'ok', len(f.read()))
    except OSError as e:
        print(p, errno.errorcode[e.errno])
print('alive')
"""


def probe(env, *paths):
    out = run([PY, "-c", PROBE, *paths], env=env, text=True, timeout=120)
    return out.stdout.split("\n"), out.stderr


def test_wrong_secret_is_eacces_with_a_log_line_naming_the_signature(uploaded, cache_dir, tmp_path):
    env = shim_env(uploaded, cache_dir, AWS_SECRET_ACCESS_KEY="wrong-secret-value-1234", HOME=str(tmp_path))
    (tmp_path / "local.txt").write_text("x")
    lines, err = probe(env, f"{MOUNT}/top.txt", str(tmp_path / "local.txt"))
    assert lines[:3] == [f"{MOUNT}/top.txt EACCES", f"{tmp_path}/local.txt ok 1", "alive"]
    assert "SignatureDoesNotMatch" in err and "signature" in err
    assert "wrong-secret-value-1234" not in err and uploaded["AWS_SECRET_ACCESS_KEY"] not in err


def test_missing_credentials_say_how_to_provide_them(uploaded, cache_dir, tmp_path):
    env = shim_env(uploaded, cache_dir, HOME=str(tmp_path))
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        env.pop(k, None)
    lines, err = probe(env, f"{MOUNT}/top.txt")
    assert lines[0] == f"{MOUNT}/top.txt EACCES"
    assert "no credentials were found" in err and "AWS_ACCESS_KEY_ID" in err


def test_credentials_from_a_profile_file(uploaded, cache_dir, tmp_path):
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "credentials").write_text(
        f"[other]\naws_access_key_id = {uploaded['AWS_ACCESS_KEY_ID']}\n"
        f"aws_secret_access_key = {uploaded['AWS_SECRET_ACCESS_KEY']}\n")
    env = shim_env(uploaded, cache_dir, HOME=str(tmp_path), AWS_PROFILE="other")
    env.pop("AWS_ACCESS_KEY_ID")
    env.pop("AWS_SECRET_ACCESS_KEY")
    lines, _ = probe(env, f"{MOUNT}/top.txt")
    assert lines[0] == f"{MOUNT}/top.txt ok 10"


def test_unreachable_endpoint_is_eio_and_does_not_hang(uploaded, cache_dir):
    mounts = f"{MOUNT}=s3://{BUCKET}/data?endpoint=http://127.0.0.1:9&timeout=3&retries=2"
    env = shim_env(uploaded, cache_dir, mounts=mounts)
    lines, err = probe(env, f"{MOUNT}/top.txt", "/etc/hostname")
    assert lines[0] == f"{MOUNT}/top.txt EIO"
    assert lines[1].startswith("/etc/hostname ok")
    assert "127.0.0.1:9" in err and "reachable" in err


def test_blackholed_endpoint_gives_up_within_the_timeout(uploaded, cache_dir):
    # 192.0.2.1 (TEST-NET-1) never answers: only the configured time budget ends the wait
    mounts = f"{MOUNT}=s3://{BUCKET}/data?endpoint=http://192.0.2.1:80&timeout=2&connect_timeout=1"
    env = shim_env(uploaded, cache_dir, mounts=mounts)
    lines, _ = probe(env, f"{MOUNT}/top.txt")   # run() fails the test if this takes 120 s
    assert lines[0] == f"{MOUNT}/top.txt EIO"


def test_server_faults_are_retried(uploaded, cache_dir, proxy_factory, local_tree):
    proxy = proxy_factory(fail=3)
    env = shim_env(uploaded, cache_dir, mounts=f"{MOUNT}=s3://{BUCKET}/data?endpoint={proxy.endpoint}")
    out = run(["cat", f"{MOUNT}/top.txt"], env=env, text=True)
    assert out.stdout == "top level\n"
    assert counters(env)["retries"] == 3


def test_persistent_server_faults_are_eio(uploaded, cache_dir, proxy_factory):
    proxy = proxy_factory(fail=1000)
    env = shim_env(uploaded, cache_dir, mounts=f"{MOUNT}=s3://{BUCKET}/data?endpoint={proxy.endpoint}&retries=2")
    lines, err = probe(env, f"{MOUNT}/top.txt")
    assert lines[0] == f"{MOUNT}/top.txt EIO"
    assert "HTTP 503" in err and "after retries" in err   # HEAD responses carry no error code


def test_malformed_configuration_is_reported_and_the_rest_still_works(uploaded, cache_dir, tmp_path):
    good = f"{MOUNT}=s3://{BUCKET}/data?endpoint={uploaded['S3_ENDPOINT']}"
    mounts = ",".join([good, "not-a-mount-spec", "/broken=s3://b/p?colour=blue", "/nowhere=gopher://x/y"])
    env = shim_env(uploaded, cache_dir, mounts=mounts, UFSHIM_CACHE_SIZE="lots", UFSHIM_LOG="loud")
    (tmp_path / "local.txt").write_text("abc")
    lines, err = probe(env, f"{MOUNT}/top.txt", "/broken/x", "/nowhere/y", str(tmp_path / "local.txt"))
    assert lines[:5] == [f"{MOUNT}/top.txt ok 10", "/broken/x EIO", "/nowhere/y EIO", f"{tmp_path}/local.txt ok 3", "alive"]
    for needle in ["UFSHIM_MOUNTS: 'not-a-mount-spec' is not PREFIX=URL", "unknown option 'colour'",
                   "unknown store scheme 'gopher://'", "UFSHIM_CACHE_SIZE=lots", "UFSHIM_LOG=loud"]:
        assert needle in err, needle


def test_unwritable_cache_directory_fails_mount_paths_only(uploaded, tmp_path):
    env = shim_env(uploaded, str(tmp_path), UFSHIM_CACHE_DIR="/proc/ufshim-cannot-exist")
    (tmp_path / "local.txt").write_text("abc")
    lines, err = probe(env, f"{MOUNT}/top.txt", str(tmp_path / "local.txt"))
    assert lines[:2] == [f"{MOUNT}/top.txt EIO", f"{tmp_path}/local.txt ok 3"]
    assert "UFSHIM_CACHE_DIR" in err


def test_ufs_cli_reports_errors_without_crashing(uploaded, cache_dir):
    env = shim_env(uploaded, cache_dir)
    env.pop("LD_PRELOAD")
    out = run([UFS, "stat", f"{MOUNT}/missing.txt"], env=env, check=False, text=True)
    assert out.returncode == 1 and "No such file or directory" in out.stderr
    out = run([UFS, "cat", "/not/a/mount"], env=env, check=False, text=True)
    assert out.returncode == 1 and "not inside a mount" in out.stderr


def test_log_lines_never_land_in_a_file_that_took_fd_2(uploaded, cache_dir, tmp_path):
    mounts = f"{MOUNT}=s3://{BUCKET}/data?endpoint=http://127.0.0.1:9&retries=0"
    env = shim_env(uploaded, cache_dir, mounts=mounts)
    data = tmp_path / "data.txt"
    script = f"""
import os
os.close(2)
fd = os.open('{data}', os.O_WRONLY | os.O_CREAT)
assert fd == 2
try:
    open('{MOUNT}/top.txt')
except OSError as e:
    print(e.errno)
"""
    out = run([PY, "-c", script], env=env, text=True)
    assert out.stdout.strip() == "5"          # EIO, and its log line went to the real stderr
    assert data.read_text() == ""
