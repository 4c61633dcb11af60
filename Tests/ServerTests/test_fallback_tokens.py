"""POST /fallback/v1/token: the socket's token in, a Firebase custom token out, scoped to the tenders that token
allows; in the format the official firebase-admin SDK writes, signed by the configured key."""
import json
import time

import firebase_admin
import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from firebase_admin import auth as firebase_auth
from firebase_admin import credentials

from conftest import Server

ISSUER = "https://auth.tenderflow.example.com"
AUDIENCE = "realtime"
SOCKET_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ACCOUNT = "tfctl-test-rt@tfctl-test.iam.gserviceaccount.com"
FIREBASE_AUDIENCE = "https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit"
DATABASE = "https://tfctl-test-default-rtdb.firebaseio.com"


def pem(key, private=False):
    if private:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture(scope="module")
def server():
    instance = Server("tenderflow", JWT_RS256_PUBLIC_KEY=pem(SOCKET_KEY), JWT_ISSUER=ISSUER, JWT_AUDIENCE=AUDIENCE,
                      FIREBASE_DATABASE_URL=DATABASE, FIREBASE_DATABASE_EMULATOR_HOST="127.0.0.1:9",
                      FALLBACK_TOKEN_KEY=pem(SIGNING_KEY, private=True), FALLBACK_TOKEN_ACCOUNT=ACCOUNT,
                      CORS_ORIGINS="https://app.example.com")
    yield instance
    instance.stop()


def socket_token(**claims):
    payload = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300,
               "tenders": ["42", "7"]}
    payload.update(claims)
    payload = {key: value for key, value in payload.items() if value is not None}
    return jwt.encode(payload, SOCKET_KEY, algorithm="RS256", headers={"kid": "rs256"})


def ask(server, token, **headers):
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(server.url + "/fallback/v1/token", headers=headers, timeout=5)


def verified(custom):
    return jwt.decode(custom, SIGNING_KEY.public_key(), algorithms=["RS256"], audience=FIREBASE_AUDIENCE)


def test_a_custom_token_scoped_to_the_sockets_tenders(server):
    answer = ask(server, socket_token())
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["uid"] == "alice" and body["databaseURL"] == DATABASE
    claims = verified(body["token"])
    assert claims["iss"] == claims["sub"] == ACCOUNT
    assert claims["uid"] == "alice"
    assert claims["exp"] - claims["iat"] == 3600 and abs(claims["iat"] - time.time()) < 60
    assert body["expiresAt"] == claims["exp"]
    assert claims["claims"] == {"fallback": True, "until": claims["exp"] * 1000, "tenders": ",42,7,"}
    assert jwt.get_unverified_header(body["token"]) == {"alg": "RS256", "typ": "JWT"}


def test_the_same_format_as_the_official_sdk(server):
    """firebase-admin's create_custom_token with the same key and account: the same header, the same claim
    names, the same audience and lifetime."""
    certificate = credentials.Certificate({
        "type": "service_account", "project_id": "tfctl-test", "private_key_id": "k1",
        "private_key": pem(SIGNING_KEY, private=True), "client_email": ACCOUNT, "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token"})
    app = firebase_admin.initialize_app(certificate, name="custom-token-format")
    try:
        official = firebase_auth.create_custom_token(
            "alice", {"fallback": True, "until": 0, "tenders": ",42,7,"}, app=app)
    finally:
        firebase_admin.delete_app(app)
    ours = ask(server, socket_token()).json()["token"]
    theirs_claims, ours_claims = verified(official.decode()), verified(ours)
    assert sorted(ours_claims) == sorted(theirs_claims)
    assert {k: ours_claims[k] for k in ("iss", "sub", "aud", "uid")} == \
        {k: theirs_claims[k] for k in ("iss", "sub", "aud", "uid")}
    assert sorted(ours_claims["claims"]) == sorted(theirs_claims["claims"])
    assert ours_claims["exp"] - ours_claims["iat"] == theirs_claims["exp"] - theirs_claims["iat"]
    theirs_header = jwt.get_unverified_header(official.decode())
    assert theirs_header.pop("kid", None) in ("k1", None)  # the SDK names the key of a key file
    assert jwt.get_unverified_header(ours) == theirs_header


def test_admins_read_everything_and_user_ids_become_valid_keys(server):
    claims = verified(ask(server, socket_token(role="admin", tenders=None)).json()["token"])
    assert claims["claims"] == {"fallback": True, "until": claims["exp"] * 1000, "admin": True}
    body = ask(server, socket_token(sub="bob@example.com")).json()
    assert body["uid"] == "bob@example%2Ecom" == verified(body["token"])["uid"]


@pytest.mark.parametrize("token", [None, "not-a-jwt", "expired"])
def test_tokens_the_socket_would_refuse_get_401(server, token):
    if token == "expired":
        token = socket_token(exp=int(time.time()) - 3600)
    answer = ask(server, token)
    assert answer.status_code == 401 and "error" in answer.json()


def test_too_many_tenders_for_firebase_claims_is_refused(server):
    answer = ask(server, socket_token(tenders=[f"tender-{n:04d}" for n in range(100)]))
    assert answer.status_code == 413 and "1000 bytes" in answer.json()["error"]


def test_cross_origin_clients_of_allowed_origins(server):
    preflight = requests.options(server.url + "/fallback/v1/token", timeout=5, headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "Authorization" in preflight.headers["access-control-allow-headers"]
    answer = ask(server, socket_token(), Origin="https://evil.example.com")
    assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers


def test_without_token_authentication_there_are_no_fallback_tokens():
    instance = Server("tenderflow", FIREBASE_DATABASE_URL=DATABASE, FIREBASE_DATABASE_EMULATOR_HOST="127.0.0.1:9",
                      FALLBACK_TOKEN_KEY=pem(SIGNING_KEY, private=True), FALLBACK_TOKEN_ACCOUNT=ACCOUNT)
    try:
        answer = ask(instance, socket_token())
        assert answer.status_code == 503 and "JWT" in json.loads(answer.text)["error"]
    finally:
        instance.stop()


@pytest.mark.parametrize("settings", [
    {"FALLBACK_TOKEN_KEY": "not a key", "FALLBACK_TOKEN_ACCOUNT": ACCOUNT},
    {"FALLBACK_TOKEN_KEY": pem(SIGNING_KEY, private=True)},
])
def test_a_bad_signing_setting_stops_the_server(settings):
    with pytest.raises(RuntimeError, match="FALLBACK_TOKEN"):
        Server("tenderflow", FIREBASE_DATABASE_URL=DATABASE, **settings)



def test_the_answer_carries_the_browser_key_and_the_auth_emulator():
    """On Cloud Run `FIREBASE_WEB_API_KEY` comes from the secret deploy.sh or Terraform fills (with the newline a
    hand-added version may end with): clients sign in with it. With the Firebase emulators, sign-in goes to the
    Auth emulator's host."""
    key = "AIzaSyD-example_key-0123456789abcdefghi"
    instance = Server("tenderflow", JWT_RS256_PUBLIC_KEY=pem(SOCKET_KEY), JWT_ISSUER=ISSUER, JWT_AUDIENCE=AUDIENCE,
                      FIREBASE_DATABASE_URL=DATABASE, FIREBASE_DATABASE_EMULATOR_HOST="127.0.0.1:9",
                      FIREBASE_AUTH_EMULATOR_HOST="127.0.0.1:19099", FIREBASE_WEB_API_KEY=key + "\n",
                      FALLBACK_TOKEN_KEY=pem(SIGNING_KEY, private=True), FALLBACK_TOKEN_ACCOUNT=ACCOUNT)
    try:
        body = ask(instance, socket_token()).json()
        assert body["apiKey"] == key
        assert body["emulatorHost"] == "127.0.0.1:9" and body["authEmulatorHost"] == "127.0.0.1:19099"
    finally:
        instance.stop()


def test_without_them_the_answer_names_neither(server):
    body = ask(server, socket_token()).json()
    assert "apiKey" not in body and "authEmulatorHost" not in body


@pytest.mark.parametrize("settings, variable", [
    ({"FIREBASE_WEB_API_KEY": "key with spaces"}, "FIREBASE_WEB_API_KEY"),
    ({"FIREBASE_DATABASE_EMULATOR_HOST": "127.0.0.1:9", "FIREBASE_AUTH_EMULATOR_HOST": "http://127.0.0.1:9099"},
     "FIREBASE_AUTH_EMULATOR_HOST"),
    # The real database's clients sign in to the real Firebase Auth, not to an emulator.
    ({"FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099"}, "FIREBASE_AUTH_EMULATOR_HOST"),
])
def test_a_bad_client_setting_stops_the_server(settings, variable):
    with pytest.raises(RuntimeError, match=variable):
        Server("tenderflow", FIREBASE_DATABASE_URL=DATABASE, **settings)
