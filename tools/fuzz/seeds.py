#!/usr/bin/env python3
"""Writes seed inputs for the fuzz targets into OUT/<target>/ (tools/fuzz/build calls it with .build-fuzz/seeds).

Seeds come from the repository's own data, so they follow it: the golden frames of Protocol/vectors/frames.json
(frame decoder, both connection machines, control payloads and messages) and every policy document in
Tests/IAMPolicyTests/Vectors (policy parser). Each seed is framed the way its target reads its input.
"""
import hashlib
import json
import os
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
out = sys.argv[1]
KINDS = ["identity", "inline-user", "inline-group", "inline-role", "trust", "resource", "boundary"]
CONTROL = {"SETTINGS": 0, "CALL_START": 1, "CALL_END": 2, "GOAWAY": 3, "AUTH_CLIENT_FIRST": 4}


def write(target, data):
    folder = os.path.join(out, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def chunks(data, op=0):
    """Opcode `op` + length + up to 255 bytes, repeated: how the connection targets take raw bytes."""
    result = b""
    for i in range(0, len(data), 255):
        piece = data[i:i + 255]
        result += bytes([op, len(piece)]) + piece
    return result


frames = json.load(open(os.path.join(root, "Protocol/vectors/frames.json")))
message_count = int(sys.argv[2]) if len(sys.argv) > 2 else 0
for vector in frames["vectors"] + frames["invalid"]:
    data = bytes.fromhex(vector["hex"])
    has_preface = data[:4] == b"IAMW"
    write("frame-decoder", bytes([1 if has_preface else 0, 255, 0]) + data)
    write("frame-decoder", bytes([1 if has_preface else 0, 255, 3, 1, 7, 2]) + data)
    direction = vector.get("direction", "client->server")
    if direction == "client->server":
        write("server-connection", bytes([3]) + chunks(data))
        if not has_preface:
            # After the harness's valid opening (opcodes 4, 5 with the real credential, 6).
            write("server-connection", bytes([3, 4, 5, 1, 6]) + chunks(data))
    else:
        write("client-connection", chunks(data))
        if not has_preface:
            write("client-connection", bytes([6, 4, 5]) + chunks(data))
    for item in vector.get("items", []):
        if item["kind"] != "frame":
            continue
        payload = bytes.fromhex(item["payloadHex"])
        index = CONTROL.get(item["type"])
        if index is not None and message_count:
            selector = message_count + index
            write("messages", bytes([selector >> 8, selector & 0xFF]) + payload)
        elif item["type"] == "MESSAGE" and "COMPRESSED" in item.get("flags", []):
            write("inflate", bytes([0x7F, 0]) + payload)
        elif item["type"] == "MESSAGE" and message_count:
            for selector in range(0, message_count, 7):
                write("messages", bytes([selector >> 8, selector & 0xFF]) + payload)
        elif item["type"] in ("AUTH_CLIENT_FIRST", "AUTH_SERVER_FIRST", "AUTH_CLIENT_FINAL", "AUTH_SERVER_FINAL"):
            text = payload[payload[0] + 1:] if item["type"] == "AUTH_CLIENT_FIRST" else payload
            write("scram", b"\x00" + text)
            write("scram", b"\x02" + text)


def documents(node):
    """(kind, document text) for every policy document in a vector file, wherever it sits."""
    if isinstance(node, dict):
        kind = node.get("kind") if node.get("kind") in KINDS else "identity"
        for key in ("document", "policy", "policyDocument"):
            value = node.get(key)
            if isinstance(value, dict):
                yield kind, json.dumps(value)
            elif isinstance(value, str) and value.lstrip().startswith("{"):
                yield kind, value
        for value in node.values():
            yield from documents(value)
    elif isinstance(node, list):
        for value in node:
            yield from documents(value)


vectors = os.path.join(root, "Tests/IAMPolicyTests/Vectors")
for name in sorted(os.listdir(vectors)):
    if name.endswith(".json"):
        for kind, text in documents(json.load(open(os.path.join(vectors, name)))):
            write("policy", bytes([KINDS.index(kind)]) + text.encode())
