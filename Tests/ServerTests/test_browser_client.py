"""The reference browser client (served at /fallback/v1/client.js) in real headless Chromium, around the official
socket.io-client 4.8.1 (the bundle NiceGUI's wheel ships): polling upgraded to WebSocket, connection state
recovery after a dropped connection, and the switch to the Realtime Database (the stand-in) when its instance dies
and back when it returns, every event delivered once and in order."""
import http.server
import json
import pathlib
import shutil
import signal
import tempfile
import threading
import time
import urllib.parse

import jwt
import nicegui
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

from conftest import PUBLISH_TOKEN, Redis, Server, free_port, publish, require_tool
from rtdb import StandIn
from test_fallback_rules import RULES
from test_fallback_tokens import ACCOUNT, AUDIENCE, ISSUER, SIGNING_KEY, SOCKET_KEY, pem

SOCKET_IO = pathlib.Path(nicegui.__file__).parent / "static" / "socket.io.min.js"
PAGE = """<!doctype html>
<meta charset="utf-8">
<script src="socket.io.min.js"></script>
<script type="module">
  const params = new URLSearchParams(location.search);
  window.events = [];
  window.modes = [];
  window.subscribed = [];
  const { connect } = await import(params.get("client"));
  window.client = connect({
    url: params.get("url"), token: params.get("token"), tenders: [params.get("tender")],
    tokenURL: params.get("tokenURL"), fallbackAfterMs: 1500, overlapMs: 1500,
    onEvent: (name, data) => window.events.push([name, data]), onMode: (mode) => window.modes.push(mode),
    onSubscribed: (tender, answer) => window.subscribed.push([tender, answer]),
  });
</script>
"""


@pytest.fixture(scope="module")
def page():
    """The test page and the official client, served from their own origin (the server's is another)."""
    directory = pathlib.Path(tempfile.mkdtemp())
    (directory / "index.html").write_text(PAGE)
    shutil.copy(SOCKET_IO, directory / "socket.io.min.js")
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *arguments):
            super().__init__(*arguments, directory=str(directory))

        def log_message(self, *arguments):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()
    shutil.rmtree(directory)


@pytest.fixture(scope="module")
def browser():
    require_tool("chromium")
    require_tool("chromedriver")
    options = Options()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.binary_location = shutil.which("chromium")
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    yield driver
    driver.quit()


def socket_token(user="alice", tenders=("42",)):
    claims = {"sub": user, "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 600, "tenders": list(tenders)}
    return jwt.encode(claims, SOCKET_KEY, algorithm="RS256", headers={"kid": "rs256"})


def server(redis, standin, page_origin, port=0, flush_ms=50):
    return Server("tenderflow", PORT=port, PUBLISH_TOKEN=PUBLISH_TOKEN, REDIS_URL=redis.url,
                  JWT_RS256_PUBLIC_KEY=pem(SOCKET_KEY), JWT_ISSUER=ISSUER, JWT_AUDIENCE=AUDIENCE,
                  CORS_ORIGINS=page_origin, FIREBASE_DATABASE_URL=f"https://{standin.namespace}.firebaseio.com",
                  FIREBASE_DATABASE_EMULATOR_HOST=standin.host, FALLBACK_FLUSH_MS=flush_ms,
                  FALLBACK_TOKEN_KEY=pem(SIGNING_KEY, private=True), FALLBACK_TOKEN_ACCOUNT=ACCOUNT)


def open_page(browser, page, url, token_url, user="alice"):
    query = urllib.parse.urlencode({
        "client": url + "/fallback/v1/client.js", "url": url, "token": socket_token(user), "tender": "42",
        "tokenURL": token_url})
    browser.get(f"{page}?{query}")


def wait(browser, script, within=20, message=None):
    """Polls `script` (a `return ...` statement) until it answers something true; a script that throws (the page's
    module not loaded yet) counts as false."""
    deadline = time.monotonic() + within
    while True:
        value = browser.execute_script(f"try {{ {script} }} catch (error) {{ return false; }}")
        if value:
            return value
        assert time.monotonic() < deadline, message or f"{script} within {within} s"
        time.sleep(0.1)


def close_other_windows(browser):
    """Back to the first window, the others closed: the module's browser is shared by its tests."""
    for handle in browser.window_handles[1:]:
        browser.switch_to.window(handle)
        browser.close()
    browser.switch_to.window(browser.window_handles[0])


def bid(via, sequence):
    response = publish(via, {"namespace": "/tenders", "room": "tender:42", "event": "bid:placed",
                             "data": {"tenderId": "42", "sequence": sequence}})
    assert response.status_code == 202, response.text


def sequences(browser):
    return [data["sequence"] for name, data in browser.execute_script("return window.events") if name == "bid:placed"]


@pytest.fixture
def topology(page):
    standin, redis = StandIn(rules=RULES), Redis()
    origin = page.rsplit("/", 1)[0]
    yield standin, redis, origin
    redis.kill()
    standin.stop()


def test_the_server_serves_the_official_bundle_as_the_wheel_ships_it():
    served = pathlib.Path(__file__).parents[2] / "Sources" / "RealtimeServer" / "Resources" / "socket.io.min.js"
    assert served.read_bytes() == SOCKET_IO.read_bytes()
    assert served.read_text().startswith("/*!\n * Socket.IO v4.8.1\n")


def test_the_official_client_upgrades_and_recovers_a_dropped_connection(browser, page, topology):
    standin, redis, origin = topology
    instance = server(redis, standin, origin)
    try:
        open_page(browser, page, instance.url, instance.url + "/fallback/v1/token")
        wait(browser, "return window.modes.includes('socket')")
        wait(browser, "return window.client.socket.io.engine.transport.name === 'websocket'",
             message="polling was not upgraded to WebSocket")
        for sequence in (1, 2):
            bid(instance, sequence)
        wait(browser, "return window.events.length >= 2")
        # The connection drops; what is published meanwhile comes back with the recovered socket.
        browser.execute_script("window.client.socket.io.engine.close()")
        bid(instance, 3)
        wait(browser, "return window.client.socket.connected && window.client.socket.recovered",
             message="the socket was not recovered")
        wait(browser, "return window.events.length >= 3")
        time.sleep(0.5)
        assert sequences(browser) == [1, 2, 3]
        assert all(data["eventId"] for _, data in browser.execute_script("return window.events"))
        # Closed, it stays closed: no fallback starts when its socket is gone.
        browser.execute_script("window.client.close()")
        time.sleep(3)  # twice fallbackAfterMs
        assert browser.execute_script(
            "return window.client.sources.size === 0 && !window.client.starting && !window.client.database")
    finally:
        instance.stop()


def test_a_refused_token_is_reported_and_not_retried(browser, page, topology):
    standin, redis, origin = topology
    instance = server(redis, standin, origin)
    try:
        expired = jwt.encode({"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) - 3600},
                             SOCKET_KEY, algorithm="RS256", headers={"kid": "rs256"})
        browser.get(f"{page}?" + urllib.parse.urlencode({
            "client": instance.url + "/fallback/v1/client.js", "url": instance.url, "token": expired,
            "tender": "42", "tokenURL": instance.url + "/fallback/v1/token"}))
        wait(browser, "return window.client.mode === 'refused'", message="the refusal was not reported")
        time.sleep(2)
        assert browser.execute_script("return window.modes") == ["connecting", "refused"]
    finally:
        instance.stop()


class Bidder(threading.Thread):
    """Publishes bids 1, 2, 3 ... through `via` every 40 ms until stopped: events in flight at every moment of a
    switch, on both channels."""

    def __init__(self, via):
        super().__init__(daemon=True)
        self.via, self.sent, self.halt = via, 0, threading.Event()

    def run(self):
        while not self.halt.wait(0.04):
            bid(self.via, self.sent + 1)
            self.sent += 1

    def stop(self):
        self.halt.set()
        self.join()
        return self.sent


def test_the_client_falls_back_to_the_database_and_comes_back_each_event_once_in_order(browser, page, topology):
    standin, redis, origin = topology
    port = free_port()
    # The bids go through `other`, to the client's instance through Redis, and `other` mirrors them a second
    # behind (its batch interval): on the way back the socket's live events come before the database's last ones.
    own, other = server(redis, standin, origin, port), server(redis, standin, origin, flush_ms=1000)
    bidder = Bidder(other)
    try:
        # A user id with a character Firebase keys may not hold: their node is `ann%2Elee`, read as such.
        open_page(browser, page, own.url, other.url + "/fallback/v1/token", user="ann.lee")
        wait(browser, "return window.client.mode === 'socket'")
        bidder.start()
        wait(browser, "return window.events.length >= 10")
        # Its instance dies: the socket cannot come back, and the client reads the database instead, while bids
        # go on.
        own.process.send_signal(signal.SIGKILL)
        own.process.wait()
        wait(browser, "return window.client.mode === 'fallback'", message="no switch to the database")
        count = len(sequences(browser))
        wait(browser, f"return window.events.length >= {count + 10}", message="the database's events did not arrive")
        # Who is present, as the mirror writes it, reaches onSubscribed as a subscription's answer would, each
        # change as it comes; user keys are read back to user ids.
        latest = ("const last = window.subscribed.filter(([tender, answer]) => tender === '42' && "
                  "answer.source === 'database').map(([, answer]) => answer.presence).at(-1); ")
        standin.patch({"presence/42/bob@example%2Ecom": {"mode": "editing", "since": int(time.time() * 1000)}})
        wait(browser, latest + "return last && last.some((entry) => entry.user === 'bob@example.com' && "
             "entry.mode === 'editing')", message="presence in the database did not reach onSubscribed")
        standin.patch({"presence/42/bob@example%2Ecom": None})
        wait(browser, latest + "return last && !last.some((entry) => entry.user === 'bob@example.com')",
             message="a user who left the database's presence is still shown")
        # A notification to the user reaches them from their own node of the database.
        response = publish(other, {"namespace": "/system", "user": "ann.lee", "event": "notice:personal",
                                   "data": {"text": "you were outbid"}})
        assert response.status_code == 202, response.text
        wait(browser, "return window.events.some(([name]) => name === 'notice:personal')",
             message="the user's notification did not arrive from the database")
        # A tender the token does not name is refused by the rules: that stream alone ends, the others go on.
        modes = browser.execute_script("return window.modes.length")
        assert browser.execute_script(
            "window.client.subscribe('99'); return window.client.sources.has('tenders/99/events')")
        wait(browser, "return !window.client.sources.has('tenders/99/events')", message="the refused stream stayed")
        count = len(sequences(browser))
        wait(browser, f"return window.events.length >= {count + 5}", message="the refusal stopped the other streams")
        assert browser.execute_script("return window.modes.length") == modes, "the refusal restarted the fallback"
        assert browser.execute_script("return window.client.sources.has('tenders/42/events')")
        # The instance is back on the same address: the socket returns while bids go on, and the database is let
        # go after the overlap. The recovery sessions are gone first (as when the recovery window has passed): the
        # socket comes back unrecovered, with live events only, while the database still brings those the mirror
        # writes within its batch interval, older than the first live ones.
        for key in redis.cli("--scan", "--pattern", "*:session:*").split():
            redis.cli("DEL", key)
        own = server(redis, standin, origin, port)
        wait(browser, "return window.client.mode === 'socket' && !window.client.database", within=30,
             message="no switch back to the socket")
        count = len(sequences(browser))
        wait(browser, f"return window.events.length >= {count + 10}")
        sent = bidder.stop()
        wait(browser, f"return window.events.length >= {sent}", within=10,
             message="bids published during a switch were lost")
        time.sleep(1)
        assert sequences(browser) == list(range(1, sent + 1)), "each event once, in order, across both switches"
        names = [name for name, _ in browser.execute_script("return window.events")]
        assert names.count("notice:personal") == 1, "the notification once, across the switch back"
        modes = browser.execute_script("return window.modes")
        assert modes[-1] == "socket" and "fallback" in modes, modes
        assert browser.execute_script("return window.client.socket.recovered") is False
    finally:
        if bidder.is_alive():
            bidder.stop()
        own.stop()
        other.stop()


def test_the_demo_page_shows_a_live_tender_to_two_users(browser, topology):
    """The demo the server serves (/fallback/v1/demo.html, with client.js and the official bundle beside it), as
    a person uses it: two windows, bids arriving, who is viewing and editing, and typing."""
    standin, redis, _ = topology
    instance = server(redis, standin, "*")
    try:
        def open_demo(user):
            browser.get(f"{instance.url}/fallback/v1/demo.html#tender=42&token={socket_token(user)}")
            wait(browser, "return document.getElementById('mode').textContent === 'socket'")
            return browser.current_window_handle

        alice = open_demo("alice")
        browser.switch_to.new_window("tab")
        bob = open_demo("bob")
        browser.find_element("id", "view").click()
        browser.switch_to.window(alice)
        wait(browser, "return document.getElementById('presence').textContent.includes('bob: viewing')",
             message="alice does not see bob viewing")
        browser.find_element("id", "edit").click()
        wait(browser, "return document.getElementById('presence').textContent.includes('alice: editing')")
        bid(instance, 1)
        wait(browser, "return document.getElementById('bids').textContent.includes('\"sequence\":1')")
        browser.switch_to.window(bob)
        wait(browser, "return document.getElementById('presence').textContent.includes('alice: editing')",
             message="bob does not see alice editing")
        wait(browser, "return document.getElementById('bids').textContent.includes('\"sequence\":1')")
        browser.find_element("id", "draft").send_keys("Looks good")
        browser.switch_to.window(alice)
        wait(browser, "return document.getElementById('typing').textContent === 'bob is typing…'",
             message="alice does not see bob typing")
    finally:
        close_other_windows(browser)
        instance.stop()


def test_the_demo_page_shows_leases_conflicts_jobs_and_comments(browser, topology):
    """The demo's collaboration panels, in two windows: one user takes the pen on the pricing section and the other
    sees it and cannot save; a save that builds on an old version is told of the conflict; a document job's
    progress arrives live and is there at once for a window opened later; comments reach both."""
    standin, redis, _ = topology
    instance = server(redis, standin, "*")
    text = "return document.getElementById('{}').textContent"
    try:
        def open_demo(user):
            browser.get(f"{instance.url}/fallback/v1/demo.html#tender=42&token={socket_token(user)}")
            wait(browser, "return document.getElementById('mode').textContent === 'socket'")
            return browser.current_window_handle

        def job(percent, state):
            response = publish(instance, {"namespace": "/tenders", "room": "tender:42", "event": "job:progress",
                                          "data": {"jobId": "upload-1", "tenderId": "42", "percent": percent,
                                                   "state": state, "file": "specs.pdf"}})
            assert response.status_code == 202, response.text

        alice = open_demo("alice")
        job(40, "running")
        wait(browser, text.format("jobs") + ".includes('specs.pdf: running 40%')", message="alice sees no job")
        browser.switch_to.new_window("tab")
        bob = open_demo("bob")
        wait(browser, text.format("jobs") + ".includes('specs.pdf: running 40%')",
             message="a window opened later does not show the job's current state")
        browser.switch_to.window(alice)
        browser.find_element("id", "acquire").click()
        wait(browser, text.format("sectionStatus") + " === 'you hold the pen'")
        browser.switch_to.window(bob)
        wait(browser, text.format("holder") + " === 'alice is editing'", message="bob does not see alice's lease")
        browser.find_element("id", "save").click()
        wait(browser, text.format("sectionStatus") + " === 'alice holds the pen'", message="bob's save was not refused")
        browser.switch_to.window(alice)
        browser.find_element("id", "content").send_keys("EUR 1.2 M")
        browser.find_element("id", "save").click()
        wait(browser, text.format("version") + " === '1'")
        browser.find_element("id", "release").click()
        browser.switch_to.window(bob)
        wait(browser, text.format("holder") + " === 'nobody is editing'", message="bob does not see the pen put down")
        wait(browser, "return document.getElementById('content').value === 'EUR 1.2 M'")
        # Bob saves on top of a version he has not seen (his page missed it): the conflict is shown.
        browser.execute_script("window.demo.emit('tender:update', {tenderId: '42', section: 'pricing', baseVersion: 0,"
                               " patch: {text: 'EUR 1.1 M'}})")
        wait(browser, text.format("sectionStatus") + ".startsWith('conflict: someone saved version 1 first')",
             message="bob's page does not show the conflict")
        job(100, "succeeded")
        wait(browser, text.format("jobs") + ".includes('specs.pdf: succeeded 100%')")
        browser.find_element("id", "draft").send_keys("Pricing is in\n")
        wait(browser, text.format("comments") + ".includes('#1 bob: Pricing is in')")
        browser.switch_to.window(alice)
        wait(browser, text.format("comments") + ".includes('#1 bob: Pricing is in')", message="alice misses the comment")
    finally:
        close_other_windows(browser)
        instance.stop()
