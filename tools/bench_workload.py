#!/usr/bin/python3
"""tools/bench_workload.py — one benchmark workload, printing a JSON line.

    bench_workload.py epochs ROOT [EPOCHS]  ImageFolder construction time, then DataLoader epochs
                                            (the seeds' transform, batch 32, 2 workers, shuffled): img/s
    bench_workload.py raw ROOT              walk, then read every file once with 16 threads: files/s, MB/s
    bench_workload.py seq FILE              read FILE sequentially in 1 MiB reads: MB/s
    bench_workload.py random FILE N         N reads of 4 KiB at random offsets, one thread: reads/s
    bench_workload.py ckpt DIR MIB          torch.save of a MIB-sized state dict into DIR (the time until
                                            torch.save returns, i.e. the file is closed): MB/s
"""
import json
import os
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def epochs(root, n):
    import torch
    from torchvision import datasets, transforms
    torch.set_num_threads(1)
    t = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    t0 = time.perf_counter()
    ds = datasets.ImageFolder(root, transform=t)
    index_s = time.perf_counter() - t0
    dl = torch.utils.data.DataLoader(ds, batch_size=32, num_workers=2, shuffle=True, persistent_workers=False)
    rates = []
    for _ in range(n):
        t0 = time.perf_counter()
        count = sum(len(y) for _, y in dl)
        rates.append(count / (time.perf_counter() - t0))
    return {"index_s": index_s, "images": len(ds), "epoch_img_s": rates}


def raw(root):
    t0 = time.perf_counter()
    paths = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]

    def read(p):
        with open(p, "rb") as f:
            return len(f.read())
    with ThreadPoolExecutor(16) as pool:
        total = sum(pool.map(read, paths))
    dt = time.perf_counter() - t0
    return {"files": len(paths), "files_s": len(paths) / dt, "mb_s": total / dt / 1e6}


def seq(path):
    t0 = time.perf_counter()
    total = 0
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(1 << 20):
            total += len(chunk)
    return {"bytes": total, "mb_s": total / (time.perf_counter() - t0) / 1e6}


def random_reads(path, n):
    size = os.path.getsize(path)
    rng = random.Random(1)
    offsets = [rng.randrange(0, size - 4096) for _ in range(n)]
    fd = os.open(path, os.O_RDONLY)
    t0 = time.perf_counter()
    for off in offsets:
        assert len(os.pread(fd, 4096, off)) == 4096
    dt = time.perf_counter() - t0
    os.close(fd)
    return {"reads": n, "reads_s": n / dt}


def ckpt(dirpath, mib):
    import torch
    torch.manual_seed(0)
    n = 32
    sd = {f"layer{i}.weight": torch.randn(mib * (1 << 20) // 4 // n) for i in range(n)}
    os.makedirs(dirpath, exist_ok=True)
    path = os.path.join(dirpath, "ckpt.pt")
    t0 = time.perf_counter()
    torch.save(sd, path)
    dt = time.perf_counter() - t0
    size = os.path.getsize(path)
    return {"bytes": size, "mb_s": size / dt / 1e6}


if __name__ == "__main__":
    mode, target = sys.argv[1], sys.argv[2]
    if mode == "epochs":
        out = epochs(target, int(sys.argv[3]) if len(sys.argv) > 3 else 2)
    elif mode == "raw":
        out = raw(target)
    elif mode == "seq":
        out = seq(target)
    elif mode == "ckpt":
        out = ckpt(target, int(sys.argv[3]))
    else:
        out = random_reads(target, int(sys.argv[3]))
    print(json.dumps(out))
