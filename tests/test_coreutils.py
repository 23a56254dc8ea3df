"""Coreutils, find and tar on a mount give what they give on the same tree on local disk."""
import os
import re
import subprocess

from conftest import MOUNT, run


def both(cmd, local_tree, env, cwd=None):
    """Runs cmd (with {root} for the tree) on local disk and through the shim; returns both
    outputs, the mount's with the mount path replaced by the local one."""
    local = run([c.format(root=local_tree) for c in cmd], text=True, cwd=cwd).stdout
    mounted = run([c.format(root=MOUNT) for c in cmd], env=env, text=True, cwd=cwd).stdout
    return local, mounted.replace(MOUNT, local_tree)


def test_ls_R_lists_every_name(local_tree, env):
    local, mounted = both(["ls", "-R", "{root}"], local_tree, env)
    assert mounted == local


def test_ls_l_reports_types_modes_and_file_sizes(local_tree, env):
    def essentials(out):
        rows = []
        for line in out.splitlines():
            f = line.split(None, 5)    # --time-style=+ prints an empty time
            if len(f) == 6 and f[0][0] in "-d":
                rows.append((f[0], f[4] if f[0][0] == "-" else "dir", f[5]))
            elif line.endswith(":"):
                rows.append(line)
        return rows
    local, mounted = both(["ls", "-lR", "--time-style=+", "{root}/images", "{root}/special", "{root}/nested"], local_tree, env)
    assert essentials(mounted) == essentials(local)
    assert len(essentials(mounted)) > 60


def test_stat_reports_size_and_type(local_tree, env):
    names = ["top.txt", "special/empty.bin", "special/with space.txt", "big/large.bin", "images", "emptydir"]
    local, mounted = both(["stat", "-c", "%s %F %n"] + ["{root}/" + n for n in names], local_tree, env)
    # directory sizes are file-system specific; files must match exactly
    loc = [l for l in local.splitlines() if "directory" not in l]
    mnt = [l for l in mounted.splitlines() if "directory" not in l]
    assert mnt == loc
    assert mounted.count("directory") == 2


def test_find_and_md5sum_of_every_file_match(local_tree, env):
    script = 'cd "$1" && find . -type f -print0 | sort -z | xargs -0 md5sum'
    local, mounted = both(["bash", "-c", script, "x", "{root}"], local_tree, env)
    assert mounted == local
    assert len(local.splitlines()) > 1100     # includes the 1,100-entry directory (two listing pages)


def test_find_prints_the_same_tree(local_tree, env):
    local, mounted = both(["find", "{root}", "-printf", "%y %P\n"], local_tree, env)
    assert sorted(mounted.splitlines()) == sorted(local.splitlines())


def test_du_apparent_sizes_of_files(local_tree, env):
    local, mounted = both(["du", "-ab", "{root}/images", "{root}/special"], local_tree, env)
    files = lambda out: sorted(l for l in out.splitlines() if re.search(r"\.(JPEG|txt|bin)$", l))
    assert files(mounted) == files(local)


def test_cp_r_out_of_a_mount(local_tree, env, tmp_path):
    run(["cp", "-r", MOUNT + "/special", MOUNT + "/images", str(tmp_path)], env=env)
    for d in ["special", "images"]:
        run(["diff", "-r", str(tmp_path / d), os.path.join(local_tree, d)])


def test_tar_of_a_mount_directory(local_tree, env, tmp_path):
    run(["tar", "cf", str(tmp_path / "out.tar"), "-C", MOUNT, "special", "nested", "emptydir"], env=env)
    (tmp_path / "x").mkdir()
    run(["tar", "xf", str(tmp_path / "out.tar"), "-C", str(tmp_path / "x")])
    for d in ["special", "nested", "emptydir"]:
        run(["diff", "-r", str(tmp_path / "x" / d), os.path.join(local_tree, d)])


def test_head_c_of_a_large_object(local_tree, env):
    cmd = 'head -c 5000001 "$1" | md5sum; tail -c 777 "$1" | md5sum'
    local, mounted = both(["bash", "-c", cmd, "x", "{root}/big/large.bin"], local_tree, env)
    assert mounted == local


def test_cd_into_a_mount_then_child_processes_start_there(local_tree, env):
    script = ('cd "$1"/nested/a && pwd && /bin/pwd && ls && cat b/c/deep.txt && '
              '/usr/bin/python3 -c "import os; print(os.getcwd(), sorted(os.listdir(\'b\')), open(\'b/c/deep.txt\').read())" && '
              'cd ../.. && /bin/pwd && ls top.txt')
    local, mounted = both(["bash", "-c", script, "x", "{root}"], local_tree, env)
    assert mounted == local


def test_paths_outside_mounts_are_untouched(env, tmp_path):
    tmp_path = tmp_path / "plain"
    tmp_path.mkdir()
    (tmp_path / "f").write_text("local file\n")
    out = run(["bash", "-c", f"cat {tmp_path}/f; ls {tmp_path}; echo ok > {tmp_path}/g; cat {tmp_path}/g"], env=env, text=True)
    assert out.stdout == "local file\nf\nok\n"
    assert out.stderr == ""


def test_changes_to_a_read_only_mount_are_refused(env):
    cases = {
        f"touch {MOUNT}/new.txt": "Read-only file system",
        f"rm {MOUNT}/top.txt": "Read-only file system",
        f"mkdir {MOUNT}/images": "File exists",
        f"mv {MOUNT}/top.txt {MOUNT}/moved.txt": "Read-only file system",
        f"echo x >> {MOUNT}/top.txt": "Read-only file system",
        f"cat {MOUNT}/no-such-file": "No such file or directory",
    }
    for cmd, message in cases.items():
        out = run(["bash", "-c", cmd], env=env, check=False, text=True)
        assert out.returncode != 0, cmd
        assert message in out.stderr, (cmd, out.stderr)
    assert run(["cat", f"{MOUNT}/top.txt"], env=env, text=True).stdout == "top level\n"
