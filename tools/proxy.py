#!/usr/bin/python3
"""tools/proxy.py — a TCP proxy that stands in for a remote object store on this kernel (which
has no netem): it delays each new connection by RTT/2 and every chunk in each direction by
RTT/2, as a delay line (like netem: chunks are delayed, not serialised, so a stream's bandwidth
is not capped at chunk size / delay; up to 8 MiB per direction is in flight). --stream-mb-s caps
each connection's bandwidth per direction, as object stores cap a single request's throughput
(so that parallel ranged GETs matter as they do against a real store). With --fail N it answers the first N requests with HTTP 503 SlowDown (then closes the
connection), to exercise clients' retries. With --fail-writes it answers every PUT, POST and DELETE
with HTTP 500 and passes reads (one request per connection, so that it sees each one): a store
that fails uploads.

    tools/proxy.py --listen 127.0.0.1:17480 --target 127.0.0.1:7480 --rtt-ms 20 [--stream-mb-s 32] [--fail N]
                   [--fail-writes]

Prints "ready PORT" on stdout once listening (port 0 picks a free one)."""
import argparse
import asyncio
import sys

INTERNAL = (b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\nConnection: close\r\n"
            b"Content-Length: 80\r\n\r\n<?xml version=\"1.0\"?><Error><Code>InternalError</Code><Message>test</Message></Error>\n")
SLOWDOWN = (b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nConnection: close\r\n"
            b"Content-Length: 90\r\n\r\n<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>test</Message></Error>\n\n\n\n")


async def pipe(reader, writer, delay, rate):
    loop = asyncio.get_running_loop()
    free_at = 0.0
    line = asyncio.Queue(maxsize=128)                # chunks of up to 64 KiB on the way

    async def receive():
        try:
            while True:
                data = await reader.read(65536)
                await line.put((loop.time() + delay, data))
                if not data:
                    break
        except (ConnectionError, asyncio.CancelledError):
            await line.put((0, b""))

    receiver = asyncio.create_task(receive())
    try:
        while True:
            due, data = await line.get()
            if rate:
                due = max(due, free_at)
                free_at = due + len(data) / rate
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        receiver.cancel()
        try:
            writer.close()
        except Exception:
            pass


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--target", required=True)
    ap.add_argument("--rtt-ms", type=float, default=20)
    ap.add_argument("--stream-mb-s", type=float, default=0, help="bandwidth cap per connection and direction (0: none)")
    ap.add_argument("--fail", type=int, default=0)
    ap.add_argument("--fail-writes", action="store_true")
    a = ap.parse_args()
    half = a.rtt_ms / 2000.0
    thost, tport = a.target.rsplit(":", 1)
    failures = [a.fail]

    async def handle(creader, cwriter):
        if failures[0] > 0:
            failures[0] -= 1
            try:
                await creader.readuntil(b"\r\n\r\n")
                cwriter.write(SLOWDOWN)
                await cwriter.drain()
            finally:
                cwriter.close()
            return
        head = b""
        if a.fail_writes:
            try:
                head = await creader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                cwriter.close()
                return
            if head.split(b" ", 1)[0] in (b"PUT", b"POST", b"DELETE"):
                cwriter.write(INTERNAL)
                await cwriter.drain()
                cwriter.close()
                return
            head = head[:-2] + b"Connection: close\r\n\r\n"
        if half:
            await asyncio.sleep(half)
        try:
            sreader, swriter = await asyncio.open_connection(thost, int(tport))
        except OSError:
            cwriter.close()
            return
        swriter.write(head)
        rate = a.stream_mb_s * 1e6
        await asyncio.gather(pipe(creader, swriter, half, rate), pipe(sreader, cwriter, half, rate))

    host, port = a.listen.rsplit(":", 1)
    server = await asyncio.start_server(handle, host, int(port))
    print("ready", server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
