"""libc's own directory walkers — glob, nftw, ftw, scandir, readdir_r, telldir/seekdir/rewinddir,
realpath — report the same tree through a mount as on local disk (glibc runs these through
internal calls the hooks cannot see, so the shim provides them for mount paths)."""
import os

from conftest import BUILD, MOUNT, run


def test_glob_nftw_scandir_and_friends_match_local_disk(local_tree, env):
    prog = os.path.join(BUILD, "tests", "libc_walk")
    local = run([prog, local_tree], text=True).stdout
    mounted = run([prog, MOUNT], env=env, text=True).stdout
    assert mounted == local
    assert local.count("glob ") == 10 + 8 and "nftw " in local and "realpath /nested/a/b" in local
