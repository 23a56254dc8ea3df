"""Prints what Python's file APIs see of a tree, deterministically; run on local disk and on a
mount, the outputs must be identical (after replacing the root)."""
import glob
import hashlib
import json
import os
import pathlib
import sys

root = sys.argv[1]
out = {}
out["walk"] = sorted((os.path.relpath(d, root), sorted(ds), sorted(fs)) for d, ds, fs in os.walk(root))
with os.scandir(os.path.join(root, "special")) as it:
    out["scandir"] = sorted((e.name, e.is_dir(), e.is_file(), e.stat().st_size) for e in it)
with os.scandir(root) as it:
    out["scandir_root"] = sorted((e.name, e.is_dir()) for e in it)
dfd = os.open(os.path.join(root, "nested", "a"), os.O_RDONLY)
out["fd_relative"] = [sorted(os.listdir(dfd)), os.stat("b/c/deep.txt", dir_fd=dfd).st_size]
with os.scandir(dfd) as it:
    out["scandir_fd"] = sorted(e.name for e in it)
os.close(dfd)
out["glob"] = sorted(os.path.relpath(p, root) for p in glob.glob(os.path.join(root, "images", "*", "img_00[0-3].JPEG")))
out["glob_recursive"] = sorted(os.path.relpath(p, root) for p in glob.glob(os.path.join(root, "**", "*.txt"), recursive=True)
                               if "/many/" not in p)
p = pathlib.Path(root)
out["pathlib"] = [sorted(str(x.relative_to(p)) for x in (p / "nested").rglob("*")), (p / "top.txt").read_text(),
                  (p / "top.txt").exists(), (p / "nope").exists(), (p / "images").is_dir(), (p / "top.txt").is_file(),
                  (p / "special" / "empty.bin").stat().st_size]
out["isfile_isdir"] = [os.path.isfile(os.path.join(root, "top.txt")), os.path.isdir(os.path.join(root, "emptydir")),
                       os.path.exists(os.path.join(root, "missing")), os.access(os.path.join(root, "top.txt"), os.R_OK),
                       os.access(os.path.join(root, "top.txt"), os.W_OK) if root.startswith("/ufs") else False]
out["realpath"] = os.path.relpath(os.path.realpath(os.path.join(root, "nested", "a", "..", "a", "b")), root)
with open(os.path.join(root, "special", "with space.txt"), "rb") as f:
    f.seek(5)
    a = f.read(7)
    f.seek(-4, os.SEEK_END)
    out["seek_read"] = [a.decode(), f.read().decode(), f.tell()]
h = hashlib.sha256()
for d, ds, fs in sorted(os.walk(os.path.join(root, "many"))):
    for name in sorted(fs):
        with open(os.path.join(d, name), "rb") as f:
            h.update(f.read())
out["many_sha"] = [h.hexdigest(), len(os.listdir(os.path.join(root, "many")))]
print(json.dumps(out, sort_keys=True))
