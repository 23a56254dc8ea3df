"""numpy, PIL and random-offset reads of a large object; prints digests of what was read."""
import hashlib
import json
import os
import random
import sys

import numpy as np
from PIL import Image

root = sys.argv[1]
out = {}
out["fromfile"] = float(np.fromfile(os.path.join(root, "arrays", "raw.f32"), dtype=np.float32).sum())
out["load_small"] = float(np.load(os.path.join(root, "arrays", "small.npy")).sum())
m = np.load(os.path.join(root, "arrays", "large.npy"), mmap_mode="r")
out["load_mmap"] = [list(m.shape), float(m[100:200, 7].sum()), float(m[-1].sum())]
img = Image.open(os.path.join(root, "images", "class_01", "img_005.JPEG"))
out["pil"] = [img.size, hashlib.sha256(img.convert("RGB").tobytes()).hexdigest()]
rng = random.Random(99)
size = os.path.getsize(os.path.join(root, "big", "large.bin"))
h = hashlib.sha256()
fd = os.open(os.path.join(root, "big", "large.bin"), os.O_RDONLY)
for _ in range(200):
    off = rng.randrange(0, size)
    n = rng.choice([1, 100, 4096, 65536, 3 << 20])
    h.update(os.pread(fd, n, off))
os.lseek(fd, size - 10, 0)
h.update(os.read(fd, 100))
os.close(fd)
with open(os.path.join(root, "big", "large.bin"), "rb") as f:
    f.seek(size // 3)
    h.update(f.read(1 << 20))
out["random_offsets"] = [size, h.hexdigest()]
print(json.dumps(out, sort_keys=True))
