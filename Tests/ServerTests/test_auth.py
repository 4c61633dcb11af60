"""Token authentication of Socket.IO connections: HS256 and RS256 tokens, issuer, audience, expiry with
bounded clock skew, refusals as CONNECT_ERROR with a reason, and tender access from the token's claims."""
import asyncio
import time

import jwt
import pytest
import socketio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import Server

SECRET = "s" * 40
ISSUER = "https://auth.tenderflow.example.com"
AUDIENCE = "realtime"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = RSA_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture(scope="module")
def auth_server():
    server = Server("tenderflow", JWT_HS256_SECRET=SECRET, JWT_RS256_PUBLIC_KEY=PUBLIC_PEM, JWT_ISSUER=ISSUER,
                    JWT_AUDIENCE=AUDIENCE, JWT_LEEWAY_SECONDS=30)
    yield server
    server.stop()


def token(algorithm="HS256", **claims):
    payload = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300, "tenders": ["42"]}
    payload.update(claims)
    payload = {key: value for key, value in payload.items() if value is not None}
    key = SECRET if algorithm == "HS256" else RSA_KEY
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": algorithm.lower()})


async def attempt(server, auth):
    """Connects to /tenders; returns (client, None) or (None, the CONNECT_ERROR data)."""
    sio = socketio.AsyncClient(reconnection=False)
    refused = asyncio.get_running_loop().create_future()

    @sio.event(namespace="/tenders")
    async def connect_error(data):
        if not refused.done():
            refused.set_result(data)

    try:
        await sio.connect(server.url, namespaces=["/tenders"], auth=auth, transports=["websocket"], wait_timeout=5)
        return sio, None
    except socketio.exceptions.ConnectionError:
        data = await asyncio.wait_for(refused, 5)
        await sio.disconnect()
        return None, data


@pytest.mark.parametrize("algorithm", ["HS256", "RS256"])
def test_valid_tokens_connect_and_claims_decide_tender_access(auth_server, algorithm):
    async def scenario():
        sio, refusal = await attempt(auth_server, {"token": token(algorithm)})
        assert refusal is None
        assert (await sio.call("subscribe", {"tenderId": "42"}, namespace="/tenders", timeout=5))["ok"]
        assert await sio.call("subscribe", {"tenderId": "43"}, namespace="/tenders", timeout=5) == \
            {"ok": False, "error": "forbidden"}
        joined = await sio.call("presence:join", {"tenderId": "42"}, namespace="/tenders", timeout=5)
        assert joined["presence"] == [{"user": "alice", "mode": "viewing"}]  # the user is the token's subject
        await sio.disconnect()

    asyncio.run(scenario())


def test_admins_may_follow_any_tender(auth_server):
    async def scenario():
        sio, refusal = await attempt(auth_server, {"token": token("RS256", sub="ops", role="admin", tenders=None)})
        assert refusal is None
        assert (await sio.call("subscribe", {"tenderId": "anything"}, namespace="/tenders", timeout=5))["ok"]
        await sio.disconnect()

    asyncio.run(scenario())


def test_clock_skew_within_the_leeway_is_tolerated(auth_server):
    async def scenario():
        sio, refusal = await attempt(auth_server, {"token": token(exp=int(time.time()) - 10)})
        assert refusal is None
        await sio.disconnect()

    asyncio.run(scenario())


@pytest.mark.parametrize("auth, reason", [
    (None, "missing token"),
    ({"token": ""}, "missing token"),
    ({"token": "not.a.jwt"}, "invalid token"),
    ({"token": token(exp=int(time.time()) - 120)}, "token expired"),
    ({"token": token(nbf=int(time.time()) + 120)}, "token not valid yet"),
    ({"token": token(iss="https://evil.example.com")}, "wrong issuer"),
    ({"token": token(aud="someone-else")}, "wrong audience"),
    ({"token": jwt.encode({"sub": "x", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60}, "t" * 40,
                          algorithm="HS256", headers={"kid": "hs256"})}, "invalid token"),
    ({"token": jwt.encode({"sub": "x", "iss": ISSUER, "aud": AUDIENCE}, SECRET, algorithm="HS256",
                          headers={"kid": "hs256"})}, "invalid token"),
])
def test_refusals_say_why(auth_server, auth, reason):
    async def scenario():
        sio, refusal = await attempt(auth_server, auth)
        assert sio is None
        assert refusal == {"message": "unauthorized", "data": {"reason": reason}}

    asyncio.run(scenario())
