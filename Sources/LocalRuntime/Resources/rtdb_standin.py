#!/usr/bin/env python3
"""A stand-in for the Firebase Realtime Database: the subset of its REST and streaming protocol that tfctl's server
and fallback client use, and nothing else. It is not the Firebase emulator (a Java archive the Firebase CLI
downloads), and not Firebase: anything outside the subset is refused with 400 and {"error": ...}, so a client that
starts to depend on more fails here first. The tests hold it to the official firebase-admin SDK.

Speaks as the emulator does (`FIREBASE_DATABASE_EMULATOR_HOST`): plain HTTP, the database named by the `ns` query
parameter on every request, `Authorization: Bearer owner` as the administrator. Also accepted as administrator: a
bearer token listed with --admin-token (what a server sends with a token from the metadata server). Clients sign in
as with the Auth emulator (rtdb_auth.py) and read with `?auth=<ID token>` under the rules given with --rules
(rtdb_rules.py evaluates their reads); a client's write is refused, as the rules tfctl renders refuse them all.

The subset: GET (a value, `shallow=true`, or `orderBy="$key"` with startAt/endAt/limitToFirst/limitToLast), PUT,
PATCH (multi-path, null deletes), POST (push ids), DELETE; `print=silent` (204); the `{".sv": "timestamp"}` server
value; ETags (`X-Firebase-ETag: true`, `if-match` answered 412 with the current value); and streaming
(`Accept: text/event-stream`: put, patch and keep-alive events). Keys follow Firebase's rules (no `. $ # [ ] /`,
no control characters, at most 768 bytes); arrays are refused (Firebase would store them as objects).

Usage: rtdb_standin.py --port PORT [--host 127.0.0.1] --namespace NS [--admin-token TOKEN ...]
                       [--rules FILE] [--project ID] [--fail-writes-file PATH] [--keep-alive-seconds N]
With --fail-writes-file, every write is answered 503 while that file exists (the tests' outage switch).
"""
import argparse
import copy
import hashlib
import json
import os
import random
import string
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import rtdb_auth
import rtdb_rules

FORBIDDEN_KEY_CHARACTERS = set(".$#[]/")
MAX_KEY_BYTES = 768
MAX_DEPTH = 32
PUSH_ALPHABET = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
QUERY_PARAMETERS = {"ns", "print", "orderBy", "startAt", "endAt", "limitToFirst", "limitToLast", "shallow", "auth"}
ADMINISTRATOR = "administrator"


class Refused(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


def split_path(path):
    """`/a/b.json` -> ["a", "b"]; each key checked as Firebase checks it."""
    if not path.endswith(".json"):
        raise Refused(400, "the REST API's paths end in .json")
    keys = [unquote(part) for part in path[: -len(".json")].split("/") if part]
    for key in keys:
        check_key(key)
    return keys


def check_key(key):
    if not key or len(key.encode()) > MAX_KEY_BYTES:
        raise Refused(400, f"invalid key {key!r}: 1 to {MAX_KEY_BYTES} bytes")
    if any(c in FORBIDDEN_KEY_CHARACTERS or ord(c) < 0x20 or ord(c) == 0x7F for c in key):
        raise Refused(400, f"invalid key {key!r}: keys may not contain . $ # [ ] / or control characters")


def normalized(value, depth, now):
    """The value as Firebase stores it: server values resolved, empty objects and nulls gone (None for nothing)."""
    if depth > MAX_DEPTH:
        raise Refused(400, f"data nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, list):
        raise Refused(400, "the stand-in does not store arrays (Firebase turns them into objects)")
    if isinstance(value, dict):
        if list(value) == [".sv"]:
            if value[".sv"] == "timestamp":
                return now
            raise Refused(400, f"unsupported server value {value['.sv']!r}")
        out = {}
        for key, child in value.items():
            check_key(key)
            child = normalized(child, depth + 1, now)
            if child is not None:
                out[key] = child
        return out or None
    return value


def etag(value):
    return hashlib.sha1(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class Database:
    """One namespace's JSON tree, its listeners, and the lock that orders every change."""

    def __init__(self):
        self.root = None
        self.lock = threading.Condition()
        self.changes = []  # (serial, [(absolute keys, value)]), the last ones only
        self.serial = 0
        self.last_push = (0, [])

    def get(self, keys):
        node = self.root
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node

    def _set(self, keys, value):
        if not keys:
            self.root = value
            return
        if not isinstance(self.root, dict):
            self.root = {}
        trail, node = [], self.root
        for key in keys[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            trail.append((node, key))
            node = child
        if value is None:
            node.pop(keys[-1], None)
        else:
            node[keys[-1]] = value
        for parent, key in reversed(trail):  # empty objects are no value in Firebase
            if parent[key] == {}:
                del parent[key]
        if self.root == {}:
            self.root = None

    def write(self, writes):
        """Applies [(keys, value)] in one step (a multi-path update is atomic) and wakes the listeners."""
        with self.lock:
            for keys, value in writes:
                self._set(keys, value)
            self.serial += 1
            self.changes.append((self.serial, copy.deepcopy(writes)))  # later writes change the tree, not these
            del self.changes[:-1000]
            self.lock.notify_all()

    def push_id(self):
        """Firebase's push ids: 8 characters of milliseconds, then 12 random ones, incremented within a
        millisecond so that ids sort in the order they were made."""
        with self.lock:
            now = int(time.time() * 1000)
            last_time, last_random = self.last_push
            if now == last_time:
                tail = list(last_random)
                for index in range(11, -1, -1):
                    if tail[index] != 63:
                        tail[index] += 1
                        break
                    tail[index] = 0
            else:
                tail = [random.randrange(64) for _ in range(12)]
            self.last_push = (now, tail)
        head = ""
        for _ in range(8):
            head = PUSH_ALPHABET[now % 64] + head
            now //= 64
        return head + "".join(PUSH_ALPHABET[i] for i in tail)


def query_value(value, params):
    """`orderBy="$key"` with startAt / endAt / limitToFirst / limitToLast over an object's children."""
    order = params.get("orderBy")
    bounds = {name: params[name] for name in ("startAt", "endAt", "limitToFirst", "limitToLast") if name in params}
    if order is None:
        if bounds:
            raise Refused(400, "orderBy must be defined when other query parameters are defined")
        return value
    if order != "$key":
        raise Refused(400, 'the stand-in orders by "$key" only')
    if "limitToFirst" in bounds and "limitToLast" in bounds:
        raise Refused(400, "limitToFirst and limitToLast cannot both be given")
    if not isinstance(value, dict):
        return value
    keys = sorted(value)  # every key the server and client write sorts as a string (no integer keys)
    if "startAt" in bounds:
        keys = [k for k in keys if k >= str(bounds["startAt"])]
    if "endAt" in bounds:
        keys = [k for k in keys if k <= str(bounds["endAt"])]
    for name in ("limitToFirst", "limitToLast"):
        if name in bounds and (not isinstance(bounds[name], int) or bounds[name] < 1):
            raise Refused(400, f"{name} must be a positive integer")
    if "limitToFirst" in bounds:
        keys = keys[: bounds["limitToFirst"]]
    if "limitToLast" in bounds:
        keys = keys[-bounds["limitToLast"]:]
    return {k: value[k] for k in keys} or None


class StandIn(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, namespace, admin_tokens, fail_writes_file, keep_alive_seconds, rules=None,
                 project="demo-tfctl"):
        super().__init__(address, Handler)
        self.rules, self.project = rules, project
        self.namespace, self.admin_tokens, self.fail_writes_file = namespace, set(admin_tokens), fail_writes_file
        # Firebase sends keep-alive about every 30 s; a client that closes its stream is noticed at the next one.
        self.keep_alive_seconds = keep_alive_seconds
        self.database = Database()
        self.stopping = False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StandIn

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass

    def do_GET(self):  # noqa: N802
        self.handle_request("GET")

    def do_PUT(self):  # noqa: N802
        self.handle_request("PUT")

    def do_PATCH(self):  # noqa: N802
        self.handle_request("PATCH")

    def do_POST(self):  # noqa: N802
        self.handle_request("POST")

    def do_DELETE(self):  # noqa: N802
        self.handle_request("DELETE")

    def do_OPTIONS(self):  # noqa: N802
        """CORS preflight: browsers read and sign in from any origin, as Firebase's endpoints allow."""
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "GET, PUT, PATCH, POST, DELETE, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Content-Type, Authorization")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def handle_request(self, method):
        try:
            url = urlsplit(self.path)
            raw = parse_qs(url.query, keep_blank_values=True)
            if url.path == rtdb_auth.SIGN_IN_PATH and method == "POST":
                return self.sign_in(raw)
            unknown = sorted(set(raw) - QUERY_PARAMETERS)
            if unknown:
                raise Refused(400, f"query parameters the stand-in does not support: {', '.join(unknown)}")
            params = {name: values[-1] for name, values in raw.items()}
            if params.get("ns") != self.server.namespace:
                raise Refused(404, f"unknown namespace {params.get('ns')!r}: this is {self.server.namespace!r}")
            auth = self.authorize(params)
            for name in ("startAt", "endAt", "limitToFirst", "limitToLast", "orderBy"):
                if name in params:
                    try:
                        params[name] = json.loads(params[name])
                    except ValueError:
                        raise Refused(400, f"{name} must be JSON") from None
            keys = split_path(url.path)
            if auth is not ADMINISTRATOR:
                if method != "GET":
                    raise Refused(401, "Permission denied: clients write nothing")
                if self.server.rules is None or not self.server.rules.may_read(keys, auth):
                    raise Refused(401, "Permission denied")
            if method == "GET" and "text/event-stream" in self.headers.get("Accept", ""):
                return self.stream(keys)
            if method != "GET" and self.server.fail_writes_file and os.path.exists(self.server.fail_writes_file):
                raise Refused(503, "the stand-in is told to fail writes")
            getattr(self, "answer_" + method.lower())(keys, params)
        except Refused as refusal:
            self.reply(refusal.status, {"error": refusal.message})

    def authorize(self, params):
        """ADMINISTRATOR for the owner's (or a listed) bearer token; the rules' `auth` of an `?auth=` ID token."""
        authorization = self.headers.get("Authorization", "")
        token = authorization[len("Bearer "):] if authorization.startswith("Bearer ") else None
        if token == "owner" or (token is not None and token in self.server.admin_tokens):
            return ADMINISTRATOR
        if "auth" in params:
            user = rtdb_auth.user(params["auth"], self.server.project)
            if user is None:
                raise Refused(401, "Auth token is expired or invalid")
            return user
        raise Refused(401, "Permission denied: no credentials")

    def sign_in(self, raw):
        if not raw.get("key", [""])[-1]:
            return self.reply(400, rtdb_auth.AuthError("API key not valid").body())
        try:
            self.reply(200, rtdb_auth.sign_in(self.body(), self.server.project))
        except rtdb_auth.AuthError as error:
            self.reply(error.code, error.body())
        except Refused as refusal:
            self.reply(400, rtdb_auth.AuthError(refusal.message).body())

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            raise Refused(400, "Invalid data; couldn't parse JSON object, array, or value.") from None

    def reply(self, status, value=None, headers=(), silent=False):
        payload = b"" if silent else json.dumps(value, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Access-Control-Allow-Origin", "*")
        if not silent:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value_ in headers:
            self.send_header(name, value_)
        self.end_headers()
        self.wfile.write(payload)

    def answer_write(self, params, value, writes_value=True):
        if params.get("print") == "silent":
            return self.reply(204, silent=True)
        self.reply(200, value if writes_value else None)

    def answer_get(self, keys, params):
        if params.get("shallow") == "true":
            if any(name in params for name in ("orderBy", "startAt", "endAt", "limitToFirst", "limitToLast")):
                raise Refused(400, "shallow cannot be combined with query parameters")
            with self.server.database.lock:
                value = self.server.database.get(keys)
                value = {k: True for k in value} if isinstance(value, dict) else value
            return self.reply(200, value)
        with self.server.database.lock:  # copied while no write can change it
            value = copy.deepcopy(self.server.database.get(keys))
        headers = [("ETag", etag(value))] if self.headers.get("X-Firebase-ETag") == "true" else []
        if headers and "orderBy" in params:
            raise Refused(400, "ETags cannot be combined with queries")
        self.reply(200, query_value(value, params), headers)

    def answer_put(self, keys, params):
        value = normalized(self.body(), len(keys), int(time.time() * 1000))
        database = self.server.database
        with database.lock:
            expected = self.headers.get("if-match")
            current = database.get(keys)
            if expected is not None and expected != etag(current):
                return self.reply(412, current, [("ETag", etag(current))])
            database.write([(keys, value)])
        self.answer_write(params, value)

    def answer_patch(self, keys, params):
        body = self.body()
        if not isinstance(body, dict):
            raise Refused(400, "an update must be a JSON object")
        now = int(time.time() * 1000)
        writes = []
        for relative, child in body.items():
            # An update's keys are paths as they are, not URL-encoded.
            child_keys = keys + [key for key in relative.split("/") if key]
            for key in child_keys[len(keys):]:
                check_key(key)
            if len(child_keys) == len(keys):
                raise Refused(400, "an update's keys must name a child path")
            writes.append((child_keys, normalized(child, len(child_keys), now)))
        for index, (first, _) in enumerate(writes):  # Firebase refuses overlapping paths in one update
            for second, _ in writes[index + 1:]:
                shorter = min(len(first), len(second))
                if first[:shorter] == second[:shorter]:
                    raise Refused(400, "Path '/" + "/".join(second) + "' is an ancestor or descendant of another")
        self.server.database.write(writes)
        self.answer_write(params, {relative: value for (_, value), relative in zip(writes, body)})

    def answer_post(self, keys, params):
        name = self.server.database.push_id()
        value = normalized(self.body(), len(keys) + 1, int(time.time() * 1000))
        self.server.database.write([(keys + [name], value)])
        self.reply(200, {"name": name})

    def answer_delete(self, keys, params):
        self.server.database.write([(keys, None)])
        self.answer_write(params, None, writes_value=False)

    def stream(self, keys):
        """Server-sent events: the value at `keys` first, then every change under or above it."""
        database = self.server.database
        self.send_response(200)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.close_connection = True
        with database.lock:
            serial = database.serial
            initial = copy.deepcopy(database.get(keys))
        try:
            self.event("put", {"path": "/", "data": initial})
            while not self.server.stopping:
                with database.lock:
                    database.lock.wait_for(lambda: database.serial > serial or self.server.stopping,
                                           timeout=self.server.keep_alive_seconds)
                    pending = copy.deepcopy([writes for number, writes in database.changes if number > serial])
                    serial = database.serial
                    snapshot = copy.deepcopy(database.get(keys))
                if not pending:
                    self.event("keep-alive", None)
                for writes in pending:
                    self.send_changes(keys, writes, snapshot)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def send_changes(self, keys, writes, snapshot):
        below = []  # (path relative to the listener, value) of writes under it
        for written, value in writes:
            if written[: len(keys)] == keys:
                below.append((written[len(keys):], value))
            elif keys[: len(written)] == written:  # a write above the listener: its whole value again
                self.event("put", {"path": "/", "data": snapshot})
                return
        if not below:
            return
        parents = {tuple(path[:-1]) for path, _ in below if path}
        if len(below) > 1 and len(parents) == 1 and all(below_path for below_path, _ in below):
            parent = list(parents)[0]
            self.event("patch", {"path": "/" + "/".join(parent), "data": {p[-1]: v for p, v in below}})
        else:
            for path, value in below:
                self.event("put", {"path": "/" + "/".join(path), "data": value})

    def event(self, name, data):
        self.wfile.write(f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode())
        self.wfile.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--admin-token", action="append", default=[])
    parser.add_argument("--fail-writes-file")
    parser.add_argument("--keep-alive-seconds", type=float, default=30)
    parser.add_argument("--rules", help="the database's rules (JSON), which clients' reads are evaluated against")
    parser.add_argument("--project", default="demo-tfctl", help="the project the ID tokens it issues name")
    options = parser.parse_args()
    if not options.namespace or any(c not in string.ascii_lowercase + string.digits + "-" for c in options.namespace):
        parser.error("--namespace: a database name (lower-case letters, digits, -)")
    rules = None
    if options.rules:
        try:
            with open(options.rules) as handle:
                rules = rtdb_rules.Rules(json.load(handle))
        except (OSError, ValueError, rtdb_rules.RuleError) as error:
            parser.error(f"--rules: {error}")
    server = StandIn((options.host, options.port), options.namespace, options.admin_token, options.fail_writes_file,
                     options.keep_alive_seconds, rules, options.project)
    print(f"rtdb stand-in listening on {options.host}:{server.server_address[1]} ns={options.namespace}",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stopping = True
        with server.database.lock:
            server.database.lock.notify_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
