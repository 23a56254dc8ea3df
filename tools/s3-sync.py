#!/usr/bin/python3
"""tools/s3-sync.py — upload a local directory tree to s3://BUCKET/PREFIX (creating the bucket),
for tests, the demo and benchmarks. Uses boto3 against the endpoint in S3_ENDPOINT and the keys
in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (as printed by tools/s3-server).

    tools/s3-sync.py LOCAL_DIR BUCKET [PREFIX]
"""
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config


def client():
    return boto3.client(
        "s3",
        endpoint_url=os.environ["S3_ENDPOINT"],
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        config=Config(s3={"addressing_style": "path"}, max_pool_connections=32,
                      retries={"max_attempts": 5}),
    )


def main():
    local, bucket = sys.argv[1], sys.argv[2]
    prefix = sys.argv[3].strip("/") + "/" if len(sys.argv) > 3 and sys.argv[3].strip("/") else ""
    s3 = client()
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    jobs = []
    for root, dirs, files in os.walk(local):
        for name in files:
            path = os.path.join(root, name)
            key = prefix + os.path.relpath(path, local)
            jobs.append((path, key))
        if not dirs and not files and root != local:   # keep empty directories as markers
            s3.put_object(Bucket=bucket, Key=prefix + os.path.relpath(root, local) + "/", Body=b"")

    def put(job):
        with open(job[0], "rb") as f:
            s3.upload_fileobj(f, bucket, job[1])

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, jobs))
    print(f"uploaded {len(jobs)} files to s3://{bucket}/{prefix}", file=sys.stderr)


if __name__ == "__main__":
    main()
