"""Python's file APIs, numpy, PIL and a torchvision DataLoader with forked workers see the same
data through a mount as on local disk."""
import json
import os

from conftest import MOUNT, PY, ROOT, counters, run

PROGRAMS = os.path.join(ROOT, "tests", "programs")


def same_output(program, local_tree, env):
    local = run([PY, os.path.join(PROGRAMS, program), local_tree], text=True).stdout
    mounted = run([PY, os.path.join(PROGRAMS, program), MOUNT], env=env, text=True).stdout
    return json.loads(local), json.loads(mounted.replace(MOUNT, local_tree))


def test_walk_scandir_glob_pathlib_and_reads(local_tree, env):
    local, mounted = same_output("walk.py", local_tree, env)
    assert mounted == local
    assert local["many_sha"][1] == 1100


def test_numpy_pil_and_random_offsets_of_a_large_object(local_tree, env):
    local, mounted = same_output("arrays.py", local_tree, env)
    assert mounted == local


def test_imagefolder_dataloader_with_forked_workers(local_tree, env):
    local, mounted = same_output("loader.py", local_tree, env)
    assert mounted == local
    assert mounted["n"] == 48


def test_second_epoch_is_served_from_the_cache(env):
    run([PY, os.path.join(PROGRAMS, "loader.py"), MOUNT], env=env)
    first = counters(env)
    run([PY, os.path.join(PROGRAMS, "loader.py"), MOUNT], env=env)
    second = counters(env)
    assert first["GET requests"] == 48, "each image fetched once by the workers and the prefetcher together"
    assert second["GET requests"] == first["GET requests"], "a warm run must fetch nothing"
    assert second["cache hits (opens)"] - first["cache hits (opens)"] >= 48


O_PATH_PROBE = """
import os, sys
fd = os.open(sys.argv[1], os.O_PATH)
st = os.fstat(fd)
try:
    os.read(fd, 1)
except OSError as e:
    print(st.st_size, e.errno == 9)
"""


def test_o_path_names_a_file_without_fetching_it(local_tree, env):
    out = run([PY, "-c", O_PATH_PROBE, f"{MOUNT}/big/large.bin"], env=env, text=True)
    assert out.stdout.split() == [str(os.path.getsize(os.path.join(local_tree, "big", "large.bin"))), "True"]
    assert counters(env)["GET requests"] == 0
