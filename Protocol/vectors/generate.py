#!/usr/bin/env python3
"""Writes Protocol/vectors/frames.json: golden byte sequences for WIRE.md version 1.

This is an independent implementation of WIRE.md (Python standard library only), so the Swift test
that decodes and re-encodes these bytes checks the Swift codec against the spec rather than against
itself. Run: python3 Protocol/vectors/generate.py  (output is committed; re-running must not change it).
"""
import base64
import hashlib
import hmac
import json
import os
import struct
import zlib

SETTINGS, AUTH_CF, AUTH_SF, AUTH_CFIN, AUTH_SFIN, PING, GOAWAY = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
CALL_START, MESSAGE, CALL_END, CANCEL = 0x10, 0x11, 0x12, 0x13
TYPE_NAMES = {SETTINGS: "SETTINGS", AUTH_CF: "AUTH_CLIENT_FIRST", AUTH_SF: "AUTH_SERVER_FIRST",
              AUTH_CFIN: "AUTH_CLIENT_FINAL", AUTH_SFIN: "AUTH_SERVER_FINAL", PING: "PING", GOAWAY: "GOAWAY",
              CALL_START: "CALL_START", MESSAGE: "MESSAGE", CALL_END: "CALL_END", CANCEL: "CANCEL"}
ACK, COMPRESSED, END_STREAM = 0x01, 0x01, 0x02
STATUS = ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
          "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
          "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"]
GOAWAY_CODES = ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "RESOURCE_EXHAUSTED", "COMPRESSION_ERROR",
                "UNSUPPORTED_VERSION", "UNAUTHENTICATED", "TIMEOUT"]


def frame(ftype, flags, stream, payload):
    return struct.pack(">IBBI", len(payload), ftype, flags, stream) + payload


def preface(lo, hi, selected):
    return b"IAMW" + bytes([lo, hi, selected, 0])


def settings_payload(entries):
    return b"".join(struct.pack(">HI", i, v) for i, v in entries)


def call_start_payload(method, timeout_us, request_id, metadata):
    out = bytes([len(method)]) + method.encode() + struct.pack(">Q", timeout_us)
    out += bytes([len(request_id)]) + request_id.encode() + bytes([len(metadata)])
    for k, v in metadata:
        out += bytes([len(k)]) + k.encode() + struct.pack(">H", len(v)) + v.encode()
    return out


def call_end_payload(status, iam_code, message, request_id):
    m = message.encode()
    return (bytes([status, len(iam_code)]) + iam_code.encode() + struct.pack(">H", len(m)) + m
            + bytes([len(request_id)]) + request_id.encode())


def goaway_payload(last, code, message):
    m = message.encode()
    return struct.pack(">IBH", last, code, len(m)) + m


# --- protobuf (proto3 wire format) for the example messages ------------------------------------
def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_bytes(field, data):
    return varint(field << 3 | 2) + varint(len(data)) + data


def pb_string(field, s):
    return pb_bytes(field, s.encode())


def pb_int(field, n):
    return varint(field << 3 | 0) + varint(n)


GET_USER_REQUEST = pb_string(1, "alice")  # iam.v1.GetUserRequest{user_name: "alice"}
USER = (pb_string(1, "/") + pb_string(2, "alice") + pb_string(3, "AIDAEXAMPLEUSER000001")
        + pb_string(4, "arn:aws:iam::123456789012:user/alice") + pb_int(5, 1700000000000))
GET_USER_RESPONSE = pb_bytes(1, USER)  # iam.v1.GetUserResponse{user: ...}

POLICY = ('{"Version":"2012-10-17","Statement":['
          + ",".join('{"Sid":"Stmt%d","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],'
                     '"Resource":["arn:aws:s3:::example-bucket-%d","arn:aws:s3:::example-bucket-%d/*"],'
                     '"Condition":{"StringEquals":{"aws:PrincipalTag/team":"team-%d"}}}' % (i, i, i, i)
                     for i in range(12)) + ']}')
PING_REQUEST_LARGE = pb_bytes(1, POLICY.encode())  # iam.v1.PingRequest{payload: <a 2 KiB policy>}


def zlib_level1(data):
    c = zlib.compressobj(level=1, method=zlib.DEFLATED, wbits=15, memLevel=8, strategy=zlib.Z_DEFAULT_STRATEGY)
    return c.compress(data) + c.flush()


def item_preface(lo, hi, sel):
    return {"kind": "preface", "hex": preface(lo, hi, sel).hex(),
            "decoded": {"minVersion": lo, "maxVersion": hi, "selectedVersion": sel}}


def flag_names(ftype, flags):
    names = []
    if ftype in (SETTINGS, PING) and flags & ACK:
        names.append("ACK")
    if ftype == MESSAGE and flags & COMPRESSED:
        names.append("COMPRESSED")
    if ftype == MESSAGE and flags & END_STREAM:
        names.append("END_STREAM")
    return names


def item_frame(ftype, flags, stream, payload, decoded):
    return {"kind": "frame", "hex": frame(ftype, flags, stream, payload).hex(), "type": TYPE_NAMES[ftype],
            "flags": flag_names(ftype, flags), "streamID": stream, "payloadHex": payload.hex(),
            "decoded": decoded}


def settings_item(entries, decoded_extra=None):
    decoded = {"entries": [{"id": i, "value": v} for i, v in entries]}
    return item_frame(SETTINGS, 0, 0, settings_payload(entries), decoded)


CLIENT_SETTINGS = [(1, 1048576), (2, 0), (3, 4194304), (4, 1), (5, 1024), (6, 0)]
SERVER_SETTINGS = [(1, 1048576), (2, 100), (3, 4194304), (4, 1), (5, 1024), (6, 300)]


def call_start_item(stream, method, timeout, rid, md):
    return item_frame(CALL_START, 0, stream, call_start_payload(method, timeout, rid, md),
                      {"method": method, "timeoutMicroseconds": timeout, "requestID": rid,
                       "metadata": [[k, v] for k, v in md]})


def message_item(stream, message, flags=0):
    payload = zlib_level1(message) if flags & COMPRESSED else message
    return item_frame(MESSAGE, flags, stream, payload,
                      {"messageHex": message.hex(), "compressed": bool(flags & COMPRESSED),
                       "endStream": bool(flags & END_STREAM)})


def call_end_item(stream, status, code, message, request_id):
    return item_frame(CALL_END, 0, stream, call_end_payload(status, code, message, request_id),
                      {"status": status, "statusName": STATUS[status], "iamErrorCode": code, "message": message,
                       "requestID": request_id})


def goaway_item(last, code, message):
    return item_frame(GOAWAY, 0, 0, goaway_payload(last, code, message),
                      {"lastStreamID": last, "code": code, "codeName": GOAWAY_CODES[code], "message": message})


def vector(name, direction, meaning, items):
    return {"name": name, "direction": direction, "meaning": meaning,
            "hex": "".join(i["hex"] for i in items), "items": items}


vectors = []
vectors.append(vector("preface-client", "client->server", "The 8-byte preface of a version-1 client: IAMW, "
                      "speaks versions 1...1, selected 0 (a client never selects).", [item_preface(1, 1, 0)]))
vectors.append(vector("preface-server", "server->client", "The server's preface: speaks 1...1 and selects 1.",
                      [item_preface(1, 1, 1)]))
vectors.append(vector("preface-server-no-common-version", "server->client",
                      "A server that speaks only version 2 answering a version-1 client: selected 0, then "
                      "GOAWAY(last 0, UNSUPPORTED_VERSION); the server then closes.",
                      [item_preface(2, 2, 0), goaway_item(0, 5, "no common protocol version")]))
vectors.append(vector("settings-client", "client->server", "The reference client's SETTINGS: frames up to 1 MiB, "
                      "accepts no calls, messages up to 4 MiB, can inflate zlib, threshold 1 KiB, no idle timeout.",
                      [settings_item(CLIENT_SETTINGS)]))
vectors.append(vector("settings-server", "server->client", "The reference server's SETTINGS: 100 concurrent calls, "
                      "idle timeout 300 s.", [settings_item(SERVER_SETTINGS)]))
vectors.append(vector("settings-empty", "both", "SETTINGS with no entries: every value stays at its default.",
                      [settings_item([])]))
vectors.append(vector("settings-ack", "both", "SETTINGS with ACK: empty payload.",
                      [item_frame(SETTINGS, ACK, 0, b"", {})]))
vectors.append(vector("ping", "both", "PING with 8 opaque bytes.",
                      [item_frame(PING, 0, 0, bytes.fromhex("0102030405060708"), {"data": "0102030405060708"})]))
vectors.append(vector("ping-ack", "both", "The answer to that PING: same bytes, ACK.",
                      [item_frame(PING, ACK, 0, bytes.fromhex("0102030405060708"), {"data": "0102030405060708"})]))
vectors.append(vector("goaway-drain", "server->client", "Graceful shutdown: calls up to stream 7 finish; "
                      "calls with higher ids were not run and fail UNAVAILABLE.",
                      [goaway_item(7, 0, "server shutting down")]))
vectors.append(vector("goaway-frame-too-large", "server->client", "Connection error after a frame longer than "
                      "MAX_FRAME_SIZE; last accepted stream 3.",
                      [goaway_item(3, 3, "frame payload of 16777217 bytes exceeds the max frame size 1048576")]))
vectors.append(vector("goaway-unauthenticated", "server->client", "Authentication failed: no calls were accepted.",
                      [goaway_item(0, 6, "authentication failed")]))
vectors.append(vector("cancel", "client->server", "CANCEL of the call on stream 5 (empty payload).",
                      [item_frame(CANCEL, 0, 5, b"", {})]))

# A real SCRAM-SHA-256 exchange (RFC 5802/7677 arithmetic) with AWS's documentation example key.
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SALT = bytes(range(1, 17))
ITERATIONS = 4096
CLIENT_NONCE = "fyko+d2lbbFgONRv9qkxdawL"
SERVER_NONCE = "3rfcNHYJY1ZVvWVs7jwO+lWo"
salted = hashlib.pbkdf2_hmac("sha256", SECRET.encode(), SALT, ITERATIONS, 32)
client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
stored_key = hashlib.sha256(client_key).digest()
server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
cf_bare = "n=%s,r=%s" % (ACCESS_KEY_ID, CLIENT_NONCE)
cf = "n,," + cf_bare
sf = "r=%s%s,s=%s,i=%d" % (CLIENT_NONCE, SERVER_NONCE, base64.b64encode(SALT).decode(), ITERATIONS)
cfin_without_proof = "c=biws,r=%s%s" % (CLIENT_NONCE, SERVER_NONCE)
auth_message = ",".join([cf_bare, sf, cfin_without_proof])
client_signature = hmac.new(stored_key, auth_message.encode(), hashlib.sha256).digest()
proof = bytes(a ^ b for a, b in zip(client_key, client_signature))
server_signature = hmac.new(server_key, auth_message.encode(), hashlib.sha256).digest()
cfin = cfin_without_proof + ",p=" + base64.b64encode(proof).decode()
sfin = "v=" + base64.b64encode(server_signature).decode()
SCRAM_VALUES = {"accessKeyID": ACCESS_KEY_ID, "secret": SECRET, "saltHex": SALT.hex(), "iterations": ITERATIONS,
                "clientNonce": CLIENT_NONCE, "serverNonce": SERVER_NONCE, "saltedPasswordHex": salted.hex(),
                "clientKeyHex": client_key.hex(), "storedKeyHex": stored_key.hex(), "serverKeyHex": server_key.hex(),
                "authMessage": auth_message, "clientProofHex": proof.hex(),
                "serverSignatureHex": server_signature.hex()}
vectors.append(vector("auth-exchange", "both", "A real SCRAM-SHA-256 exchange for access key AKIAIOSFODNN7EXAMPLE "
                      "with secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, salt 01..10, 4096 iterations and fixed "
                      "nonces; 'scram' below lists every intermediate value (RFC 5802 §3).", [
                          item_frame(AUTH_CF, 0, 0, bytes([13]) + b"SCRAM-SHA-256" + cf.encode(),
                                     {"mechanism": "SCRAM-SHA-256", "message": cf}),
                          item_frame(AUTH_SF, 0, 0, sf.encode(), {"message": sf}),
                          item_frame(AUTH_CFIN, 0, 0, cfin.encode(), {"message": cfin}),
                          item_frame(AUTH_SFIN, 0, 0, sfin.encode(), {"message": sfin})]))
vectors[-1]["scram"] = SCRAM_VALUES
vectors.append(vector("auth-failed", "server->client", "A wrong proof: server-final e=invalid-proof, then GOAWAY "
                      "UNAUTHENTICATED; the server closes.", [
                          item_frame(AUTH_SFIN, 0, 0, b"e=invalid-proof", {"message": "e=invalid-proof"}),
                          goaway_item(0, 6, "authentication failed")]))

whole_call_request = [
    call_start_item(1, "/iam.v1.IAM/GetUser", 5000000, "req-1", [("x-trace", "abc")]),
    message_item(1, GET_USER_REQUEST, END_STREAM)]
whole_call_response = [message_item(1, GET_USER_RESPONSE), call_end_item(1, 0, "", "", "req-1")]
vectors.append(vector("call-request", "client->server", "GetUser(alice) on stream 1: CALL_START with a 5 s timeout, "
                      "request id req-1 and one metadata pair, then the request MESSAGE with END_STREAM.",
                      whole_call_request))
vectors.append(vector("call-response", "server->client", "The answer: the GetUserResponse MESSAGE then CALL_END OK.",
                      whole_call_response))
vectors.append(vector("whole-call-client-to-server", "client->server", "One whole call on a fresh connection, "
                      "what the client sends (authentication omitted): client preface, client SETTINGS, its ACK of "
                      "the server's SETTINGS, CALL_START, request MESSAGE. Vector whole-call-server-to-client is the "
                      "other direction; WIRE.md §15 annotates every byte of both.",
                      [item_preface(1, 1, 0), settings_item(CLIENT_SETTINGS), item_frame(SETTINGS, ACK, 0, b"", {})]
                      + whole_call_request))
vectors.append(vector("whole-call-server-to-client", "server->client", "The same call, what the server sends "
                      "(authentication omitted): server preface, server SETTINGS, its ACK of the client's SETTINGS, "
                      "response MESSAGE, CALL_END OK returning the request id req-1.",
                      [item_preface(1, 1, 1), settings_item(SERVER_SETTINGS), item_frame(SETTINGS, ACK, 0, b"", {})]
                      + whole_call_response))
vectors.append(vector("call-start-no-deadline-many-metadata", "client->server", "CALL_START with no deadline "
                      "(timeout 0), an empty request id and three metadata entries including a repeated key.",
                      [call_start_item(3, "/iam.v1.Health/Ping", 0, "",
                                       [("user-agent", "iam-cli/1.0"), ("x-tag", "a"), ("x-tag", "b")])]))
vectors.append(vector("message-compressed", "server->client", "A %d-byte PingResponse (a policy document) sent "
                      "zlib-compressed (RFC 1950, level 1) with COMPRESSED: payload %d bytes." % (
                          len(PING_REQUEST_LARGE), len(zlib_level1(PING_REQUEST_LARGE))),
                      [message_item(9, PING_REQUEST_LARGE, COMPRESSED)]))
vectors.append(vector("message-empty", "both", "An empty MESSAGE: the empty protobuf message (all defaults).",
                      [message_item(11, b"", END_STREAM)]))

IAM_CODES = {3: "MalformedPolicyDocument", 5: "NoSuchEntity", 6: "EntityAlreadyExists", 7: "AccessDenied",
             8: "LimitExceeded", 9: "DeleteConflict", 10: "ConcurrentModification", 13: "ServiceFailure"}
MESSAGES = {1: "call cancelled", 2: "unknown error", 3: "Statement 0: Effect must be Allow or Deny, got \"Permit\"",
            4: "deadline exceeded after 5000000 µs", 5: "The user with name bob cannot be found.",
            6: "User with name alice already exists.", 7: "User: arn:aws:iam::123456789012:user/eve is not "
            "authorized to perform: iam:CreateUser", 8: "Cannot exceed quota for UsersPerAccount: 5000",
            9: "Cannot delete entity, must detach all policies first.", 10: "Concurrent modification, retry",
            11: "MaxItems must be 1...1000", 12: "method /iam.v1.IAM/Nope is not implemented",
            13: "internal error", 14: "server is shutting down", 15: "data loss", 16: "authentication required"}
for status in range(1, 17):
    code = IAM_CODES.get(status, "")
    vectors.append(vector("call-end-%s" % STATUS[status].lower().replace("_", "-"), "server->client",
                          "CALL_END %d %s%s." % (status, STATUS[status], " with IAM error code " + code if code else ""),
                          [call_end_item(13, status, code, MESSAGES[status], "7-13")]))
vectors.append(vector("call-end-ok-with-message", "server->client", "CALL_END OK may carry a message.",
                      [call_end_item(15, 0, "", "done", "req-15")]))
vectors.append(vector("call-end-ok-assigned-request-id", "server->client", "CALL_END OK of a call whose CALL_START "
                      "had an empty request id: the server returns the id it assigned (here connection 7, stream 17).",
                      [call_end_item(17, 0, "", "", "7-17")]))

# Bytes that must be refused. "error" is the WireError code; "goAway" what the receiver sends.
invalid = []


def bad(name, meaning, data, error, go_away=None, status=None, stage="frame", max_frame_size=1048576):
    entry = {"name": name, "meaning": meaning, "hex": data.hex(), "stage": stage, "error": error,
             "maxFrameSize": max_frame_size}
    if go_away:
        entry["goAway"] = go_away
    if status:
        entry["status"] = status
    invalid.append(entry)


bad("preface-http", "Plaintext HTTP instead of a preface: refused at the first byte.", b"GET / HTTP/1.1\r\n",
    "badPreface", stage="preface")
bad("preface-tls-client-hello", "A TLS ClientHello sent to a plaintext port.", bytes.fromhex("160301020001"),
    "badPreface", stage="preface")
bad("preface-reserved", "Preface with a non-zero reserved byte.", preface(1, 1, 0)[:7] + b"\x01",
    "badPreface", stage="preface")
bad("preface-version-0", "Preface with min version 0.", preface(0, 1, 0), "badPreface", stage="preface")
bad("frame-too-large", "Header declaring 16 MiB + 1; refused from the 10 header bytes alone.",
    struct.pack(">IBBI", 16777217, MESSAGE, 0, 1), "frameTooLarge", go_away="RESOURCE_EXHAUSTED")
bad("frame-over-advertised-limit", "A 16,385-byte payload when the receiver advertised MAX_FRAME_SIZE 16384.",
    struct.pack(">IBBI", 16385, MESSAGE, 0, 1), "frameTooLarge", go_away="RESOURCE_EXHAUSTED",
    max_frame_size=16384)
bad("unknown-core-type", "Frame type 0x42 (core range, undefined).", frame(0x42, 0, 0, b""), "unknownFrameType",
    go_away="PROTOCOL_ERROR")
bad("type-zero", "Frame type 0x00.", frame(0x00, 0, 0, b""), "unknownFrameType", go_away="PROTOCOL_ERROR")
bad("message-bad-flag", "MESSAGE with flag 0x04.", frame(MESSAGE, 0x04, 1, b""), "badFlags",
    go_away="PROTOCOL_ERROR")
bad("call-start-with-flag", "CALL_START with flag 0x01.", frame(CALL_START, 0x01, 1, b""), "badFlags",
    go_away="PROTOCOL_ERROR")
bad("call-frame-stream-0", "CALL_START on stream 0.", frame(CALL_START, 0, 0, b""), "badStreamID",
    go_away="PROTOCOL_ERROR")
bad("settings-on-stream", "SETTINGS on stream 1.", frame(SETTINGS, 0, 1, b""), "badStreamID",
    go_away="PROTOCOL_ERROR")
bad("reserved-stream-bit", "MESSAGE on stream 0x80000001.", frame(MESSAGE, 0, 0x80000001, b""), "badStreamID",
    go_away="PROTOCOL_ERROR")
bad("ping-short", "PING with 7 bytes.", frame(PING, 0, 0, b"\x00" * 7), "malformedFrame", go_away="PROTOCOL_ERROR")
bad("settings-ack-payload", "SETTINGS ACK with a payload.", frame(SETTINGS, ACK, 0, settings_payload([(1, 16384)])),
    "malformedFrame", go_away="PROTOCOL_ERROR")
bad("settings-odd-length", "SETTINGS payload of 5 bytes.", frame(SETTINGS, 0, 0, b"\x00\x01\x00\x00\x40"),
    "malformedFrame", go_away="PROTOCOL_ERROR")
bad("cancel-payload", "CANCEL with a payload.", frame(CANCEL, 0, 1, b"\x00"), "malformedFrame",
    go_away="PROTOCOL_ERROR")
bad("settings-frame-size-too-small", "MAX_FRAME_SIZE 1024 (below 16384).",
    frame(SETTINGS, 0, 0, settings_payload([(1, 1024)])), "malformedFrame", go_away="PROTOCOL_ERROR",
    stage="settings")
bad("settings-compression-bits", "COMPRESSION with undefined bit 1.",
    frame(SETTINGS, 0, 0, settings_payload([(4, 3)])), "malformedFrame", go_away="PROTOCOL_ERROR", stage="settings")
bad("call-start-empty-method", "CALL_START whose method is empty.",
    frame(CALL_START, 0, 1, call_start_payload("", 0, "", [])), "malformedFrame", status="INVALID_ARGUMENT",
    stage="callStart")
bad("call-start-truncated", "CALL_START that ends inside the timeout.",
    frame(CALL_START, 0, 1, b"\x05/a/bc\x00\x00"), "malformedFrame", status="INVALID_ARGUMENT", stage="callStart")
bad("call-start-trailing", "CALL_START with a byte after the metadata.",
    frame(CALL_START, 0, 1, call_start_payload("/a/b", 0, "", []) + b"\x00"), "malformedFrame",
    status="INVALID_ARGUMENT", stage="callStart")
bad("call-start-upper-case-key", "Metadata key with an upper-case letter.",
    frame(CALL_START, 0, 1, call_start_payload("/a/b", 0, "", [("X-Trace", "1")])), "malformedFrame",
    status="INVALID_ARGUMENT", stage="callStart")
bad("call-start-65-metadata", "65 metadata entries (at most 64).",
    frame(CALL_START, 0, 1, call_start_payload("/a/b", 0, "", [("k", "v")] * 65)), "limitExceeded",
    status="RESOURCE_EXHAUSTED", stage="callStart")
bad("call-start-metadata-too-big", "Three 4,000-byte values: 12,003 metadata bytes (at most 8,192).",
    frame(CALL_START, 0, 1, call_start_payload("/a/b", 0, "", [("a", "x" * 4000), ("b", "y" * 4000),
                                                               ("c", "z" * 4000)])),
    "limitExceeded", status="RESOURCE_EXHAUSTED", stage="callStart")
bad("call-start-key-too-long", "A 65-byte metadata key (at most 64): a size limit, so RESOURCE_EXHAUSTED.",
    frame(CALL_START, 0, 1, call_start_payload("/a/b", 0, "", [("k" * 65, "v")])), "limitExceeded",
    status="RESOURCE_EXHAUSTED", stage="callStart")
bad("call-start-value-too-long", "A 4,097-byte metadata value (at most 4,096): a size limit, so RESOURCE_EXHAUSTED.",
    frame(CALL_START, 0, 1, call_start_payload("/a/b", 0, "", [("k", "v" * 4097)])), "limitExceeded",
    status="RESOURCE_EXHAUSTED", stage="callStart")
bad("call-start-empty-key", "An empty metadata key: malformed, so INVALID_ARGUMENT.",
    frame(CALL_START, 0, 1, call_start_payload("/a/b", 0, "", [("", "v")])), "malformedFrame",
    status="INVALID_ARGUMENT", stage="callStart")
bad("call-end-bad-utf8", "CALL_END whose message is not UTF-8.",
    frame(CALL_END, 0, 1, bytes([13, 0, 0, 2, 0xC3, 0x28, 0])), "malformedFrame", go_away="PROTOCOL_ERROR",
    stage="callEnd")
bad("call-end-no-request-id", "CALL_END that ends after the message, without the request id length.",
    frame(CALL_END, 0, 1, bytes([0, 0, 0, 0])), "malformedFrame", go_away="PROTOCOL_ERROR", stage="callEnd")
bad("call-end-trailing", "CALL_END with a byte after the request id.",
    frame(CALL_END, 0, 1, call_end_payload(0, "", "", "r") + b"!"), "malformedFrame", go_away="PROTOCOL_ERROR",
    stage="callEnd")
bad("goaway-trailing", "GOAWAY with a byte after the message.", frame(GOAWAY, 0, 0, goaway_payload(0, 0, "") + b"!"),
    "malformedFrame", go_away="PROTOCOL_ERROR", stage="goAway")
corrupt = bytearray(zlib_level1(PING_REQUEST_LARGE))
corrupt[len(corrupt) // 2] ^= 0xFF
bad("message-corrupt-zlib", "COMPRESSED MESSAGE whose deflate data has one byte flipped.",
    frame(MESSAGE, COMPRESSED, 1, bytes(corrupt)), "decompressionFailed", status="INTERNAL", stage="message")
bad("message-truncated-zlib", "COMPRESSED MESSAGE cut 6 bytes before the end of its zlib stream.",
    frame(MESSAGE, COMPRESSED, 1, zlib_level1(PING_REQUEST_LARGE)[:-6]), "decompressionFailed", status="INTERNAL",
    stage="message")
bad("message-gzip-not-zlib", "COMPRESSED MESSAGE in gzip (RFC 1952) format instead of zlib.",
    frame(MESSAGE, COMPRESSED, 1, zlib.compressobj(1, zlib.DEFLATED, 31).compress(b"hello") +
          zlib.compressobj(1, zlib.DEFLATED, 31).flush()), "decompressionFailed", status="INTERNAL", stage="message")
bad("message-inflates-too-large", "COMPRESSED MESSAGE of 5,000,000 zero bytes (%d bytes compressed): larger than "
    "MAX_MESSAGE_SIZE 4194304 once inflated." % len(zlib_level1(b"\x00" * 5000000)),
    frame(MESSAGE, COMPRESSED, 1, zlib_level1(b"\x00" * 5000000)), "messageTooLarge", status="RESOURCE_EXHAUSTED",
    stage="message")

skipped = frame(0xC0, 0xFF, 7, b"extension") + frame(PING, 0, 0, bytes(8))
extension = [{"name": "extension-frame-skipped", "meaning": "An unknown extension frame (type 0xC0, any flags, any "
              "stream) is skipped; the PING after it is decoded.", "hex": skipped.hex(),
              "expect": [{"type": "PING", "streamID": 0, "payloadHex": "00" * 8}]}]

doc = {"protocolVersion": 1,
       "about": "Golden byte sequences for Protocol/WIRE.md. 'vectors' decode to 'items' (preface or frames, in "
                "order) and re-encode byte for byte; 'invalid' must be refused at 'stage' with 'error' (a WireError "
                "code); 'skipped' shows extension frames being ignored. Generated by generate.py.",
       "vectors": vectors, "invalid": invalid, "skipped": extension}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "frames.json")
with open(path, "w") as f:
    json.dump(doc, f, indent=1, ensure_ascii=False)
    f.write("\n")
print("wrote %s: %d vectors, %d invalid" % (path, len(vectors), len(invalid)))
