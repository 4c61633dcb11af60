"""The rules tfctl renders, evaluated: a fallback client signs in with the custom token the server gave it (as with
Firebase's Auth emulator) and reads the stand-in with its ID token. It reads its tenders, their presence, the
notices and its own node, and nothing else; an administrator reads every tender; a Firebase user tfctl did not sign
in reads nothing; no client writes. The rules are the prod environment's rendered file (its golden)."""
import json
import queue
import threading
import time

import jwt
import pytest
import requests

from conftest import ROOT, PUBLISH_TOKEN, Redis, Server, publish
from rtdb import StandIn
from test_fallback_tokens import ACCOUNT, AUDIENCE, ISSUER, SIGNING_KEY, SOCKET_KEY, pem

RULES = ROOT / "Tests" / "RenderersTests" / "Goldens" / "prod" / "firebase" / "database.rules.json"
SIGN_IN = "/identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken"


@pytest.fixture(scope="module")
def topology():
    standin, redis = StandIn(rules=RULES), Redis()
    server = Server("tenderflow", PUBLISH_TOKEN=PUBLISH_TOKEN, REDIS_URL=redis.url,
                    JWT_RS256_PUBLIC_KEY=pem(SOCKET_KEY), JWT_ISSUER=ISSUER, JWT_AUDIENCE=AUDIENCE,
                    FIREBASE_DATABASE_URL=f"https://{standin.namespace}.firebaseio.com",
                    FIREBASE_DATABASE_EMULATOR_HOST=standin.host, FALLBACK_FLUSH_MS=50,
                    FALLBACK_TOKEN_KEY=pem(SIGNING_KEY, private=True), FALLBACK_TOKEN_ACCOUNT=ACCOUNT)
    for tender in ("42", "7"):
        response = publish(server, {"namespace": "/tenders", "room": f"tender:{tender}", "event": "bid:placed",
                                    "data": {"tenderId": tender}})
        assert response.status_code == 202
    assert publish(server, {"namespace": "/system", "event": "notice", "data": {"text": "hi"}}).status_code == 202
    standin.wait_for("tenders/7/events", lambda value: value)
    standin.wait_for("system/notices", lambda value: value)
    yield standin, server
    server.stop()
    redis.kill()
    standin.stop()


def id_token(standin, server, **claims):
    """Signs in as a fallback client does: the socket's token for a custom token, that for an ID token."""
    payload = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300, "tenders": ["42"],
               **claims}
    socket_token = jwt.encode({k: v for k, v in payload.items() if v is not None}, SOCKET_KEY, algorithm="RS256",
                              headers={"kid": "rs256"})
    custom = requests.post(server.url + "/fallback/v1/token", headers={"Authorization": f"Bearer {socket_token}"},
                           timeout=5).json()["token"]
    answer = requests.post(standin.url + SIGN_IN, params={"key": "local"}, timeout=5,
                           json={"token": custom, "returnSecureToken": True})
    assert answer.status_code == 200, answer.text
    assert answer.json()["expiresIn"] == "3600"
    return answer.json()["idToken"]


def read(standin, path, token):
    return requests.get(f"{standin.url}/{path}.json", params={"ns": standin.namespace, "auth": token}, timeout=5)


def test_a_client_reads_its_tenders_presence_notices_and_own_node_only(topology):
    standin, server = topology
    token = id_token(standin, server)
    allowed = ["tenders/42", "tenders/42/events", "presence/42", "system", "system/notices", "users/alice"]
    denied = ["", "tenders", "tenders/7", "tenders/7/events", "presence", "presence/7", "users", "users/bob"]
    for path in allowed:
        assert read(standin, path, token).status_code == 200, path
    for path in denied:
        answer = read(standin, path, token)
        assert answer.status_code == 401 and "Permission denied" in answer.json()["error"], path
    events = read(standin, "tenders/42/events", token).json()
    assert [json.loads(record["args"])[0]["tenderId"] for record in events.values()] == ["42"]


def test_an_administrator_reads_every_tender(topology):
    standin, server = topology
    token = id_token(standin, server, role="admin", tenders=None)
    for path in ("tenders/42", "tenders/7", "presence/7", "system"):
        assert read(standin, path, token).status_code == 200, path
    assert read(standin, "", token).status_code == 401, "not even an administrator reads the root"


def test_no_client_writes_and_no_other_firebase_user_reads(topology):
    standin, server = topology
    token = id_token(standin, server)
    for method in ("put", "patch", "delete"):
        answer = getattr(requests, method)(f"{standin.url}/tenders/42/events/x.json", timeout=5,
                                           params={"ns": standin.namespace, "auth": token}, json={"a": 1})
        assert answer.status_code == 401, method
    # A user signed in to the project some other way: no `fallback` claim.
    custom = jwt.encode({"iss": ACCOUNT, "sub": ACCOUNT, "aud": "https://identitytoolkit.googleapis.com/google."
                         "identity.identitytoolkit.v1.IdentityToolkit", "uid": "mallory", "iat": int(time.time()),
                         "exp": int(time.time()) + 600, "claims": {"tenders": ",42,"}}, SIGNING_KEY, "RS256")
    other = requests.post(standin.url + SIGN_IN, params={"key": "local"}, json={"token": custom},
                          timeout=5).json()["idToken"]
    for path in ("tenders/42", "system", "users/mallory"):
        assert read(standin, path, other).status_code == 401, path
    assert read(standin, "system", "not.a.token").status_code == 401


def test_a_client_streams_its_tender_with_its_id_token(topology):
    standin, server = topology
    token = id_token(standin, server)
    events = queue.Queue()

    def listen():
        with requests.get(f"{standin.url}/tenders/42/events.json", params={"ns": standin.namespace, "auth": token},
                          headers={"Accept": "text/event-stream"}, stream=True, timeout=10) as stream:
            name = None
            for line in stream.iter_lines(chunk_size=1, decode_unicode=True):
                if line.startswith("event: "):
                    name = line[len("event: "):]
                elif line.startswith("data: ") and name in ("put", "patch"):
                    events.put((name, json.loads(line[len("data: "):])))

    threading.Thread(target=listen, daemon=True).start()
    name, first = events.get(timeout=5)
    assert name == "put" and first["path"] == "/" and len(first["data"]) >= 1
    publish(server, {"namespace": "/tenders", "room": "tender:42", "event": "bid:placed", "data": {"n": 2}})
    name, change = events.get(timeout=5)  # the new event under its id
    assert name == "put" and change["path"].count("/") == 1
    assert json.loads(change["data"]["args"])[0]["n"] == 2
    denied = requests.get(f"{standin.url}/tenders/7/events.json", params={"ns": standin.namespace, "auth": token},
                          headers={"Accept": "text/event-stream"}, timeout=5)
    assert denied.status_code == 401
