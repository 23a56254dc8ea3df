#!/usr/bin/python3
"""tools/proxy.py — a TCP proxy that stands in for a remote object store on this kernel (which
has no netem): it delays each new connection by RTT/2 and every chunk in each direction by
RTT/2. With --fail N it answers the first N requests with HTTP 503 SlowDown (then closes the
connection), to exercise clients' retries.

    tools/proxy.py --listen 127.0.0.1:17480 --target 127.0.0.1:7480 --rtt-ms 20 [--fail N]

Prints "ready PORT" on stdout once listening (port 0 picks a free one)."""
import argparse
import asyncio
import sys

SLOWDOWN = (b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nConnection: close\r\n"
            b"Content-Length: 90\r\n\r\n<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>test</Message></Error>\n\n\n\n")


async def pipe(reader, writer, delay):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if delay:
                await asyncio.sleep(delay)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--target", required=True)
    ap.add_argument("--rtt-ms", type=float, default=20)
    ap.add_argument("--fail", type=int, default=0)
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
        if half:
            await asyncio.sleep(half)
        try:
            sreader, swriter = await asyncio.open_connection(thost, int(tport))
        except OSError:
            cwriter.close()
            return
        await asyncio.gather(pipe(creader, swriter, half), pipe(sreader, cwriter, half))

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
