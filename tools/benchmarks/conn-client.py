#!/usr/bin/env python3
"""Connection-holding client for tools/benchmarks/conn-memory.sh (issue 12).

Speaks Protocol/WIRE.md directly over Python's ssl module (OpenSSL), so it needs nothing but python3:
TLS 1.3 with ALPN iam/1, preface, SETTINGS, SCRAM-SHA-256 (RFC 5802/7677, WIRE.md section 6), one
Health/Ping, then it holds the connection open without sending anything.

  conn-client.py auth N --port P --ca CA --credentials root-credentials.json [--parallel 32]
      opens N authenticated connections, each after one Ping; prints "READY ok=N failed=F", then holds
      them until stdin reaches EOF (the script closes the pipe) or the process is killed.
  conn-client.py silent N --port P
      opens N plain TCP connections that never send a byte; prints READY, holds them likewise.
  conn-client.py ping --port P --ca CA --credentials FILE [--count 5]
      a well-behaved client: connect, authenticate, Ping, close, COUNT times; prints the wall time of
      each whole exchange ("PING ms=...") and "PING_MEDIAN ms=...".
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import ssl
import struct
import sys
import time

PREFACE = b"IAMW\x01\x01\x00\x00"
SETTINGS, AUTH_CLIENT_FIRST, AUTH_SERVER_FIRST, AUTH_CLIENT_FINAL, AUTH_SERVER_FINAL = 1, 2, 3, 4, 5
GOAWAY, CALL_START, MESSAGE, CALL_END = 7, 0x10, 0x11, 0x12
ACK, END_STREAM = 0x01, 0x02
PING_METHOD = b"/iam.v1.Health/Ping"

_salted_cache = {}


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">IBBI", len(payload), ftype, flags, stream) + payload


async def read_frame(reader):
    header = await reader.readexactly(10)
    length, ftype, flags, stream = struct.unpack(">IBBI", header)
    if length > 1 << 20:
        raise RuntimeError(f"frame of {length} bytes")
    payload = await reader.readexactly(length) if length else b""
    if ftype == GOAWAY:
        code = payload[4] if len(payload) > 4 else -1
        raise RuntimeError(f"GOAWAY code {code}: {payload[7:].decode(errors='replace')}")
    return ftype, flags, stream, payload


async def read_until(reader, wanted):
    while True:
        ftype, flags, stream, payload = await read_frame(reader)
        if ftype == wanted:
            return flags, stream, payload


def tls_context(ca):
    context = ssl.create_default_context(cafile=ca)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["iam/1"])
    return context


async def open_authenticated(host, port, context, key_id, secret):
    reader, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=host)
    nonce = base64.b64encode(os.urandom(24)).decode()
    bare = f"n={key_id},r={nonce}"
    mechanism = b"SCRAM-SHA-256"
    writer.write(
        PREFACE
        + frame(SETTINGS, 0, 0)
        + frame(AUTH_CLIENT_FIRST, 0, 0, bytes([len(mechanism)]) + mechanism + ("n,," + bare).encode())
    )
    server_preface = await reader.readexactly(8)
    if server_preface[:4] != b"IAMW" or server_preface[6] != 1:
        raise RuntimeError(f"bad server preface {server_preface.hex()}")
    _, _, server_first = await read_until(reader, AUTH_SERVER_FIRST)
    server_first = server_first.decode()
    fields = dict(part.split("=", 1) for part in server_first.split(","))
    if not fields["r"].startswith(nonce):
        raise RuntimeError("server nonce does not extend ours")
    salt, iterations = base64.b64decode(fields["s"]), int(fields["i"])
    cache_key = (secret, salt, iterations)
    salted = _salted_cache.get(cache_key)
    if salted is None:
        salted = _salted_cache[cache_key] = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, iterations, 32)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    without_proof = f"c=biws,r={fields['r']}"
    auth_message = f"{bare},{server_first},{without_proof}".encode()
    signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    final = f"{without_proof},p={base64.b64encode(proof).decode()}"
    writer.write(frame(SETTINGS, ACK, 0) + frame(AUTH_CLIENT_FINAL, 0, 0, final.encode()))
    _, _, server_final = await read_until(reader, AUTH_SERVER_FINAL)
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    expected = base64.b64encode(hmac.new(server_key, auth_message, hashlib.sha256).digest()).decode()
    if server_final.decode() != "v=" + expected:
        raise RuntimeError(f"authentication failed: {server_final!r}")
    # One Health/Ping: CALL_START (10 s deadline, server-assigned request id, no metadata) + MESSAGE.
    start = bytes([len(PING_METHOD)]) + PING_METHOD + struct.pack(">Q", 10_000_000) + b"\x00\x00"
    writer.write(frame(CALL_START, 0, 1, start) + frame(MESSAGE, END_STREAM, 1, b"\x0a\x04ping"))
    _, stream, end = await read_until(reader, CALL_END)
    if stream != 1 or not end or end[0] != 0:
        raise RuntimeError(f"Ping failed with status {end[0] if end else None}")
    return reader, writer


async def hold_until_stdin_closes():
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)


async def run_auth(args):
    credentials = json.load(open(args.credentials))
    context = tls_context(args.ca)
    held, failures = [], []
    semaphore = asyncio.Semaphore(args.parallel)

    async def one():
        async with semaphore:
            try:
                held.append(
                    await open_authenticated(
                        args.host, args.port, context, credentials["accessKeyId"], credentials["secretAccessKey"]
                    )
                )
            except Exception as error:  # counted and the first one printed; the script checks ok == N
                failures.append(repr(error))

    await asyncio.gather(*(one() for _ in range(args.count)))
    if failures:
        print(f"FIRST_ERROR {failures[0]}", flush=True)
    print(f"READY ok={len(held)} failed={len(failures)}", flush=True)
    await hold_until_stdin_closes()


async def run_silent(args):
    # Opened concurrently (bounded), so all of them are open well within the server's handshake timeout
    # even on a loaded machine.
    semaphore = asyncio.Semaphore(args.parallel)
    held, failures = [], []

    async def one():
        async with semaphore:
            try:
                held.append(await asyncio.open_connection(args.host, args.port))
            except OSError as error:
                failures.append(repr(error))

    await asyncio.gather(*(one() for _ in range(args.count)))
    if failures:
        print(f"FIRST_ERROR {failures[0]}", flush=True)
    print(f"READY ok={len(held)} failed={len(failures)}", flush=True)
    await hold_until_stdin_closes()


async def run_ping(args):
    credentials = json.load(open(args.credentials))
    context = tls_context(args.ca)
    times = []
    for _ in range(args.count):
        began = time.perf_counter()
        _, writer = await asyncio.wait_for(
            open_authenticated(args.host, args.port, context, credentials["accessKeyId"], credentials["secretAccessKey"]),
            timeout=args.deadline,
        )
        times.append((time.perf_counter() - began) * 1000)
        writer.close()
        print(f"PING ms={times[-1]:.1f}", flush=True)
    times.sort()
    print(f"PING_MEDIAN ms={times[len(times) // 2]:.1f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["auth", "silent", "ping"])
    parser.add_argument("count", type=int, nargs="?", default=5)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ca")
    parser.add_argument("--credentials")
    parser.add_argument("--parallel", type=int, default=32)
    parser.add_argument("--deadline", type=float, default=5.0, help="ping: seconds allowed per whole exchange")
    args = parser.parse_args()
    runner = {"auth": run_auth, "silent": run_silent, "ping": run_ping}[args.mode]
    asyncio.run(runner(args))


if __name__ == "__main__":
    main()
