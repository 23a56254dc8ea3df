"""The integration tests' dataset, generated deterministically on local disk: an ImageNet-style
JPEG tree, keys with awkward characters, an empty object, a directory of more than 1,000 entries
(two listing pages), a large object (>= 64 MiB), numpy arrays and an empty directory marker."""
import os
import random

VERSION = "v1"
LARGE_SIZE = 70 * 1024 * 1024 + 12345


def build(root):
    done = os.path.join(root, ".." , f"local-{VERSION}.done")
    if os.path.exists(done):
        return
    import numpy as np
    from PIL import Image
    rng = random.Random(42)
    os.makedirs(root, exist_ok=True)
    for c in range(4):
        d = os.path.join(root, "images", f"class_{c:02d}")
        os.makedirs(d, exist_ok=True)
        for i in range(12):
            w, h = rng.randint(80, 300), rng.randint(80, 300)
            arr = np.random.RandomState(c * 100 + i).randint(0, 255, (h, w, 3), dtype=np.uint8)
            Image.fromarray(arr).save(os.path.join(d, f"img_{i:03d}.JPEG"), quality=90)
    special = os.path.join(root, "special")
    os.makedirs(special, exist_ok=True)
    for name in ["with space.txt", "plus+sign.txt", "percent%20literal.txt", "unicode_日本語_é.txt",
                 "amp & lt <gt>.txt", "semi;colon=eq.txt", "tilde~under_score.txt"]:
        with open(os.path.join(special, name), "w") as f:
            f.write(f"content of {name}\n" * 3)
    open(os.path.join(special, "empty.bin"), "wb").close()
    many = os.path.join(root, "many")
    os.makedirs(many, exist_ok=True)
    for i in range(1100):
        with open(os.path.join(many, f"f{i:05d}.txt"), "w") as f:
            f.write(str(i))
    big = os.path.join(root, "big")
    os.makedirs(big, exist_ok=True)
    with open(os.path.join(big, "large.bin"), "wb") as f:
        f.write(np.random.RandomState(7).bytes(LARGE_SIZE))
    arrays = os.path.join(root, "arrays")
    os.makedirs(arrays, exist_ok=True)
    np.save(os.path.join(arrays, "small.npy"), np.arange(1000, dtype=np.float64).reshape(10, 100))
    np.save(os.path.join(arrays, "large.npy"), np.random.RandomState(3).rand(1024, 1024 + 512).astype(np.float32))
    np.arange(50000, dtype=np.float32).tofile(os.path.join(arrays, "raw.f32"))
    os.makedirs(os.path.join(root, "nested", "a", "b", "c"), exist_ok=True)
    with open(os.path.join(root, "nested", "a", "b", "c", "deep.txt"), "w") as f:
        f.write("deep\n")
    os.makedirs(os.path.join(root, "emptydir"), exist_ok=True)
    with open(os.path.join(root, "top.txt"), "w") as f:
        f.write("top level\n")
    open(done, "w").close()
