#!/usr/bin/python3
"""tools/bench.py — `make bench`: the same workloads on local disk, through ufshim and, when
installed, through s3fs-fuse (-o use_cache) and rclone mount (--vfs-cache-mode full), with
tools/proxy.py adding round-trip time (and a per-connection bandwidth cap of STREAM_MB_S, as real
stores cap one request's throughput) in front of the project's radosgw; at 0 ms the systems talk
to radosgw directly. Every number is printed
beside local disk's from the same run, as a ratio. Results go to OUT/results.json and a chart to
OUT/results.png.

Workloads: an ImageNet-style folder (class folders of ~110 KB JPEGs) read by a DataLoader (the
seeds' transform, batch 32, 2 workers, shuffle: cold epoch, best of two warm epochs, a new
process after a restart), ImageFolder construction time, a 16-thread plain read of every file
(cold, warm); large shards: a sequential read (cold, warm) and 4 KiB random reads (cold), with
curl's single-stream and 8-way parallel ranged GETs of the same object as the yardstick. ufshim's
request counters are reported per phase. "Cold" means an empty cache (and no listing index) and
the page cache dropped.

    tools/bench.py [--images 2000] [--shards 4] [--shard-mib 256] [--rtt-ms 0,20]
                   [--systems local,ufshim,s3fs,rclone] [--out bench-results]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = "/usr/bin/python3"
LIB = os.path.join(ROOT, "build", "libufshim.so")
UFS = os.path.join(ROOT, "build", "ufs")
WORK = "/tmp/ufshim-bench"
BUCKET = "bench"
RANDOM_READS = 200
CKPT_MIB = 256
CURL_PARALLEL = 8
PART = 8 << 20
STREAM_MB_S = 32        # per-connection bandwidth through the proxy, like a real store's per-request cap


def make_images(path, n_images):
    """Class folders of ~110 KB JPEGs (500x375, smooth structure plus noise, like photos)."""
    done = path + ".done"
    if os.path.exists(done):
        return
    import numpy as np
    from PIL import Image
    shutil.rmtree(path, ignore_errors=True)
    classes = max(1, n_images // 40)
    rng = np.random.RandomState(0)
    for i in range(n_images):
        d = os.path.join(path, f"n{i % classes:08d}")
        os.makedirs(d, exist_ok=True)
        base = rng.randint(0, 255, (24, 32, 3)).astype(np.uint8)
        img = np.asarray(Image.fromarray(base).resize((500, 375), Image.BICUBIC)).astype(np.int16)
        img = np.clip(img + rng.randint(-28, 28, img.shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(os.path.join(d, f"img_{i:06d}.JPEG"), quality=90)
    open(done, "w").close()


def make_shards(path, count, mib):
    done = path + ".done"
    if os.path.exists(done):
        return
    os.makedirs(path, exist_ok=True)
    for i in range(count):
        with open(os.path.join(path, f"shard-{i:04d}.bin"), "wb") as f:
            for _ in range(mib // 16):
                f.write(os.urandom(16 << 20))
    open(done, "w").close()


def s3client(s3):
    import boto3
    return boto3.client("s3", endpoint_url=s3["S3_ENDPOINT"], region_name="us-east-1",
                        aws_access_key_id=s3["AWS_ACCESS_KEY_ID"], aws_secret_access_key=s3["AWS_SECRET_ACCESS_KEY"])


def upload(path, s3, prefix, bucket=BUCKET):
    """Uploads path to s3://bucket/prefix unless the server holds it already (a marker object
    says so: a local marker could outlive the server's data)."""
    client = s3client(s3)
    marker = f"markers/{prefix}"
    try:
        client.head_object(Bucket=bucket, Key=marker)
        return
    except Exception:
        pass
    subprocess.run([PY, os.path.join(ROOT, "tools", "s3-sync.py"), path, bucket, prefix], env=dict(os.environ, **s3),
                   check=True)
    client.put_object(Bucket=bucket, Key=marker, Body=b"")


def drop_page_cache():
    subprocess.run(["sync"])
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    except OSError:
        pass        # not root: "cold" then only means an empty ufshim/peer cache


def workload(mode, target, env=None, arg=None):
    args = [PY, os.path.join(ROOT, "tools", "bench_workload.py"), mode, target] + ([str(arg)] if arg is not None else [])
    out = subprocess.run(args, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"workload {mode} on {target} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the systems under test: each gives a directory holding the bucket's contents -----------------

class Local:
    name = "local"

    def __init__(self, data):
        self.data = data

    def start(self, endpoint, tag, fresh):
        return self.data, None

    def stop(self):
        pass

    def requests(self, tag):
        return None


class Ufshim:
    name = "ufshim"
    mount = "/ufs/bench"

    def __init__(self, s3, base):
        self.s3, self.base = s3, base

    def start(self, endpoint, tag, fresh, write="through"):
        cache = os.path.join(self.base, "ufshim-cache")
        if fresh:
            shutil.rmtree(cache, ignore_errors=True)
        stats = os.path.join(self.base, "ufshim-stats", tag)
        shutil.rmtree(stats, ignore_errors=True)
        os.makedirs(stats)
        env = dict(os.environ, **self.s3)
        env.update({"LD_PRELOAD": LIB, "UFSHIM_CACHE_DIR": cache, "UFSHIM_STATS_DIR": stats,
                    "UFSHIM_MOUNTS": f"{self.mount}=s3://{BUCKET}?endpoint={endpoint}&write={write}"})
        return self.mount, env

    def stop(self):
        pass

    def requests(self, tag):
        out = subprocess.run([UFS, "stats", os.path.join(self.base, "ufshim-stats", tag)], capture_output=True,
                             text=True, check=True)
        vals = {}
        for line in out.stdout.splitlines()[1:]:
            name, _, v = line.strip().rpartition(" ")
            vals[name.strip()] = int(v)
        return {k.split()[0]: vals[k] for k in ("GET requests", "HEAD requests", "LIST requests", "PUT/POST requests")}


class FuseMount:
    """A FUSE peer mounted over the whole bucket, its disk cache in base/NAME-cache."""

    def __init__(self, s3, base):
        self.s3, self.base = s3, base
        self.mountpoint = f"/mnt/ufshim-bench-{self.name}"
        self.proc = None

    def start(self, endpoint, tag, fresh):
        cache = os.path.join(self.base, f"{self.name}-cache")
        if fresh:
            shutil.rmtree(cache, ignore_errors=True)
        os.makedirs(cache, exist_ok=True)
        os.makedirs(self.mountpoint, exist_ok=True)
        self.mount(endpoint, cache)
        deadline = time.monotonic() + 30
        while not os.path.ismount(self.mountpoint):
            if time.monotonic() > deadline:
                sys.exit(f"{self.name} did not mount {self.mountpoint}")
            time.sleep(0.2)
        return self.mountpoint, None

    def stop(self):
        for tool in ("fusermount3", "fusermount"):
            if shutil.which(tool) and subprocess.run([tool, "-u", self.mountpoint], capture_output=True).returncode == 0:
                break
        if self.proc:
            self.proc.wait(timeout=30)
            self.proc = None
        time.sleep(0.5)

    def requests(self, tag):
        return None


class S3fs(FuseMount):
    name = "s3fs"

    def mount(self, endpoint, cache):
        pw = os.path.join(self.base, "s3fs-passwd")
        with open(pw, "w") as f:
            f.write(f"{self.s3['AWS_ACCESS_KEY_ID']}:{self.s3['AWS_SECRET_ACCESS_KEY']}\n")
        os.chmod(pw, 0o600)
        subprocess.run(["s3fs", BUCKET, self.mountpoint, "-o", f"url={endpoint}", "-o", "use_path_request_style",
                        "-o", f"use_cache={cache}", "-o", f"passwd_file={pw}"], check=True)


class Rclone(FuseMount):
    name = "rclone"

    def mount(self, endpoint, cache):
        env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}   # rclone refuses to start with it
        env.update({"RCLONE_S3_PROVIDER": "Ceph", "RCLONE_S3_ENDPOINT": endpoint,
                    "RCLONE_S3_ACCESS_KEY_ID": self.s3["AWS_ACCESS_KEY_ID"],
                    "RCLONE_S3_SECRET_ACCESS_KEY": self.s3["AWS_SECRET_ACCESS_KEY"]})
        self.proc = subprocess.Popen(["rclone", "mount", f":s3:{BUCKET}", self.mountpoint, "--vfs-cache-mode", "full",
                                      "--cache-dir", cache], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# --- curl yardstick ---------------------------------------------------------------------------------

def curl_mb_s(s3, endpoint, key, size, parallel):
    """Reads the object with curl: one stream, or `parallel` ranged GETs of PART bytes at a time."""
    auth = ["--aws-sigv4", "aws:amz:us-east-1:s3", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
            "--user", f"{s3['AWS_ACCESS_KEY_ID']}:{s3['AWS_SECRET_ACCESS_KEY']}"]
    url = f"{endpoint}/{BUCKET}/{key}"
    if parallel == 1:
        args = ["curl", "-sf", "-o", "/dev/null"] + auth + [url]
    else:
        args = ["curl", "-sf", "--parallel", "--parallel-max", str(parallel)]
        for i, off in enumerate(range(0, size, PART)):
            args += (["--next"] if i else []) + auth + ["-r", f"{off}-{min(off + PART, size) - 1}", "-o", "/dev/null", url]
    t0 = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return size / (time.perf_counter() - t0) / 1e6


# --- one RTT ----------------------------------------------------------------------------------------

def run_system(sys_, endpoint, images, shard_dir, shards):
    r, req = {}, {}
    # DataLoader: cold epoch then two warm ones in one process; then a new process after a restart
    drop_page_cache()
    root, env = sys_.start(endpoint, "epochs", fresh=True)
    ep = workload("epochs", os.path.join(root, images), env, 3)
    r.update(index_s=ep["index_s"], epoch_cold=ep["epoch_img_s"][0], epoch_warm=max(ep["epoch_img_s"][1:]))
    req["epochs"] = sys_.requests("epochs")
    sys_.stop()
    root, env = sys_.start(endpoint, "restart", fresh=False)
    r["epoch_restart"] = workload("epochs", os.path.join(root, images), env, 1)["epoch_img_s"][0]
    req["restart"] = sys_.requests("restart")
    sys_.stop()
    # plain reads, 16 threads
    drop_page_cache()
    root, env = sys_.start(endpoint, "raw", fresh=True)
    cold = workload("raw", os.path.join(root, images), env)
    warm = workload("raw", os.path.join(root, images), env)
    r.update(raw_cold_files_s=cold["files_s"], raw_cold_mb_s=cold["mb_s"], raw_warm_files_s=warm["files_s"],
             raw_warm_mb_s=warm["mb_s"])
    req["raw"] = sys_.requests("raw")
    sys_.stop()
    # shards: sequential cold then warm, random 4 KiB reads on another (cold) shard
    drop_page_cache()
    root, env = sys_.start(endpoint, "shards", fresh=True)
    first = os.path.join(root, shard_dir, "shard-0000.bin")
    r["seq_cold_mb_s"] = workload("seq", first, env)["mb_s"]
    r["seq_warm_mb_s"] = workload("seq", first, env)["mb_s"]
    r["random_cold_reads_s"] = workload("random", os.path.join(root, shard_dir, f"shard-{min(1, shards - 1):04d}.bin"),
                                        env, RANDOM_READS)["reads_s"]
    req["shards"] = sys_.requests("shards")
    sys_.stop()
    # checkpoint: torch.save of a 256 MiB state dict into a new file (the write path)
    root, env = sys_.start(endpoint, "ckpt", fresh=True)
    r["ckpt_write_mb_s"] = workload("ckpt", os.path.join(root, "ckpt-bench", sys_.name), env, CKPT_MIB)["mb_s"]
    req["ckpt"] = sys_.requests("ckpt")
    sys_.stop()
    if isinstance(sys_, Ufshim):
        # write=async: torch.save returns once the file is staged; the upload follows (the
        # process's exit waits for it), as rclone's write-back cache does
        root, env = sys_.start(endpoint, "ckpt-async", fresh=True, write="async")
        r["ckpt_async_write_mb_s"] = workload("ckpt", os.path.join(root, "ckpt-bench", "ufshim-async"), env,
                                              CKPT_MIB)["mb_s"]
        sys_.stop()
    if req["epochs"] is not None:
        r["requests"] = req
    return r


def run_rtt(rtt, s3, systems, images, shard_dir, shard_bytes, shards):
    proxy = None
    endpoint = s3["S3_ENDPOINT"]
    if rtt > 0:
        proxy = subprocess.Popen([PY, os.path.join(ROOT, "tools", "proxy.py"), "--target",
                                  s3["S3_ENDPOINT"].split("//")[1], "--rtt-ms", str(rtt), "--stream-mb-s", str(STREAM_MB_S)],
                                 stdout=subprocess.PIPE, text=True)
        endpoint = f"http://127.0.0.1:{proxy.stdout.readline().split()[1]}"
    res = {"stream_mb_s": STREAM_MB_S if proxy else None}
    try:
        key = f"{shard_dir}/shard-{min(2, shards - 1):04d}.bin"
        res["curl"] = {"single_mb_s": curl_mb_s(s3, endpoint, key, shard_bytes, 1),
                       "parallel_mb_s": curl_mb_s(s3, endpoint, key, shard_bytes, CURL_PARALLEL)}
        for s in systems:
            print(f"  {rtt:g} ms: {s.name} ...", file=sys.stderr, flush=True)
            res[s.name] = run_system(s, endpoint, images, shard_dir, shards)
    finally:
        for s in systems:
            s.stop()
        if proxy:
            proxy.kill()
    return res


ROWS = [("ImageFolder indexing (s, lower is better)", "index_s"),
        ("DataLoader epoch 1, cold (img/s)", "epoch_cold"),
        ("DataLoader warm epoch, best of 2 (img/s)", "epoch_warm"),
        ("new process after restart (img/s)", "epoch_restart"),
        ("plain read 16 thr, cold (files/s)", "raw_cold_files_s"),
        ("plain read 16 thr, warm (files/s)", "raw_warm_files_s"),
        ("plain read 16 thr, cold (MB/s)", "raw_cold_mb_s"),
        ("shard sequential, cold (MB/s)", "seq_cold_mb_s"),
        ("shard sequential, warm (MB/s)", "seq_warm_mb_s"),
        ("shard 4 KiB random, cold (reads/s)", "random_cold_reads_s"),
        (f"torch.save {CKPT_MIB} MiB checkpoint (MB/s)", "ckpt_write_mb_s"),
        (f"  same, ufshim write=async (MB/s)", "ckpt_async_write_mb_s")]


# rows measured on one system only, compared with another row of local disk
BASELINE_ROW = {"ckpt_async_write_mb_s": "ckpt_write_mb_s"}


def value_and_ratio(res, n, k):
    """System n's value of row k (None if not measured) and its ratio to local disk (0 if none)."""
    v, base = res[n].get(k), res["local"].get(BASELINE_ROW.get(k, k))
    return v, ((base / v if k == "index_s" else v / base) if v and base else 0)


def print_table(rtt, res, names, label):
    print(f"\n== {label}, {rtt:g} ms RTT — value (ratio to local disk, same run)")
    print(f"{'workload':42}" + "".join(f"{n:>20}" for n in names))
    for title, k in ROWS:
        cells = []
        for n in names:
            v, ratio = value_and_ratio(res, n, k)
            if v is None:
                cells.append("-")
                continue
            cells.append(f"{v:10.2f}" + ("" if n == "local" else f" ({ratio:5.2f}x)"))
        print(f"{title:42}" + "".join(f"{c:>20}" for c in cells))
    c = res["curl"]
    print(f"curl, same shard: one stream {c['single_mb_s']:.1f} MB/s, {CURL_PARALLEL} parallel 8 MiB ranges "
          f"{c['parallel_mb_s']:.1f} MB/s")
    if "ufshim" not in res:
        return
    print(f"ufshim cold sequential = {res['ufshim']['seq_cold_mb_s'] / c['parallel_mb_s']:.2f}x the parallel curl, "
          f"{res['ufshim']['seq_cold_mb_s'] / c['single_mb_s']:.2f}x the single stream")
    for phase, counts in res["ufshim"].get("requests", {}).items():
        print(f"ufshim requests, {phase}: {counts}")


def chart(results, path):
    """Per RTT: each system's ratio to local disk for each workload (log scale)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rtts = list(results["rtt"])
    fig, axes = plt.subplots(len(rtts), 1, figsize=(12, 4.2 * len(rtts)), squeeze=False)
    for ax, rtt in zip(axes[:, 0], rtts):
        res = results["rtt"][rtt]
        names = [n for n in results["systems"] if n != "local"]
        width = 0.8 / len(names)
        for i, n in enumerate(names):
            ratios = [value_and_ratio(res, n, k)[1] for _, k in ROWS]
            ax.bar([x + i * width for x in range(len(ROWS))], ratios, width, label=n)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(ROWS))],
                      [t.split(" (")[0] for t, _ in ROWS], rotation=20, ha="right", fontsize=8)
        ax.set_ylabel("ratio to local disk (higher is better)")
        ax.set_title(f"{float(rtt):g} ms RTT — {results['images']} images, {results['shards']} x {results['shard_mib']} MiB shards"
                     f" ({results['date']})")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--shard-mib", type=int, default=256)
    ap.add_argument("--rtt-ms", default="0,20")
    ap.add_argument("--systems", default="local,ufshim,s3fs,rclone")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench-results"))
    a = ap.parse_args()
    out = subprocess.run([os.path.join(ROOT, "tools", "s3-server"), "start"], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("the S3 server did not start:\n" + out.stderr)
    s3 = dict(l.split("=", 1) for l in out.stdout.split() if "=" in l)
    data = os.path.join(WORK, "data")
    images, shard_dir = f"imagenet{a.images}", f"shards{a.shards}x{a.shard_mib}"
    make_images(os.path.join(data, images), a.images)
    make_shards(os.path.join(data, shard_dir), a.shards, a.shard_mib)
    upload(os.path.join(data, images), s3, images)
    upload(os.path.join(data, shard_dir), s3, shard_dir)
    base = os.path.join(WORK, "run")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    wanted = a.systems.split(",")
    systems = [Local(data)]
    for cls, tool in ((Ufshim, None), (S3fs, "s3fs"), (Rclone, "rclone")):
        if cls.name in wanted and (tool is None or shutil.which(tool)):
            systems.append(cls(s3, base))
        elif cls.name in wanted:
            print(f"{tool} is not installed: left out", file=sys.stderr)
    names = [s.name for s in systems]
    results = {"machine": os.uname().nodename, "cpus": os.cpu_count(), "images": a.images, "shards": a.shards,
               "shard_mib": a.shard_mib, "date": time.strftime("%Y-%m-%d %H:%M"), "systems": names, "rtt": {}}
    label = f"{a.images} images, {a.shards} x {a.shard_mib} MiB shards"
    for rtt in [float(x) for x in a.rtt_ms.split(",")]:
        res = run_rtt(rtt, s3, systems, images, shard_dir, a.shard_mib << 20, a.shards)
        results["rtt"][str(rtt)] = res
        print_table(rtt, res, names, label)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    chart(results, os.path.join(a.out, "results.png"))
    print(f"\nresults: {os.path.join(a.out, 'results.json')}, chart: {os.path.join(a.out, 'results.png')}")


if __name__ == "__main__":
    main()
