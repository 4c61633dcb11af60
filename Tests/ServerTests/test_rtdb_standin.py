"""The Realtime Database stand-in held to the official firebase-admin SDK: what Google's own client sends in
emulator mode (FIREBASE_DATABASE_EMULATOR_HOST) must work here, with Firebase's answers, and what the stand-in does
not implement must be refused, not half-done."""
import os
import queue
import uuid

import firebase_admin
import pytest
import requests
from firebase_admin import db

from rtdb import StandIn


@pytest.fixture(scope="module")
def standin():
    server = StandIn()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def app(standin):
    # The SDK's own emulator mode: plain HTTP, ns=<database name>, "Bearer owner".
    os.environ["FIREBASE_DATABASE_EMULATOR_HOST"] = standin.host
    application = firebase_admin.initialize_app(
        options={"databaseURL": f"https://{standin.namespace}.firebaseio.com", "projectId": "tfctl-test"},
        name=f"standin-{uuid.uuid4()}")
    yield application
    firebase_admin.delete_app(application)
    del os.environ["FIREBASE_DATABASE_EMULATOR_HOST"]


def test_set_get_and_server_timestamp(app):
    ref = db.reference("/sdk/set", app=app)
    ref.set({"v": 1, "t": {".sv": "timestamp"}, "nested": {"a": "b"}})
    value = ref.get()
    assert value["v"] == 1 and value["nested"] == {"a": "b"}
    assert isinstance(value["t"], int) and value["t"] > 1_600_000_000_000


def test_multi_path_update_with_null_deletes(app):
    ref = db.reference("/sdk/update", app=app)
    ref.set({"events": {"0001": {"x": 1}, "0002": {"x": 2}}, "meta": {"last": 2}})
    ref.update({"events/0001": None, "events/0003": {"x": 3}, "meta/last": 3})
    assert ref.get() == {"events": {"0002": {"x": 2}, "0003": {"x": 3}}, "meta": {"last": 3}}
    # A deleted last child takes its empty parents with it, as in Firebase.
    ref.update({"events/0002": None, "events/0003": None})
    assert ref.child("events").get() is None


def test_push_ids_sort_in_creation_order(app):
    ref = db.reference("/sdk/pushed", app=app)
    keys = [ref.push({"n": n}).key for n in range(20)]
    assert len(set(keys)) == 20 and keys == sorted(keys) and all(len(k) == 20 for k in keys)
    assert [ref.child(k).get()["n"] for k in keys] == list(range(20))


def test_key_range_queries(app):
    ref = db.reference("/sdk/range", app=app)
    ref.set({f"{n:013d}-000000": {"n": n} for n in range(1, 11)})
    older = ref.order_by_key().end_at("0000000000005-000000").get()
    assert [v["n"] for v in older.values()] == [1, 2, 3, 4, 5]
    assert list(ref.order_by_key().limit_to_first(2).get()) == ["0000000000001-000000", "0000000000002-000000"]
    assert list(ref.order_by_key().limit_to_last(2).get()) == ["0000000000009-000000", "0000000000010-000000"]
    window = ref.order_by_key().start_at("0000000000004").end_at("0000000000006~").get()
    assert [v["n"] for v in window.values()] == [4, 5, 6]


def test_etags_and_conditional_writes(app):
    ref = db.reference("/sdk/etag", app=app)
    ref.set({"count": 1})
    value, tag = ref.get(etag=True)
    assert value == {"count": 1}
    assert ref.set_if_unchanged(tag, {"count": 2})[0] is True
    changed, current, _ = ref.set_if_unchanged(tag, {"count": 3})  # the old tag no longer matches
    assert changed is False and current == {"count": 2}
    assert ref.transaction(lambda current: {"count": current["count"] + 1}) == {"count": 3}


def test_listener_gets_the_value_then_changes(app):
    ref = db.reference("/sdk/listen", app=app)
    ref.set({"a": 1})
    events = queue.Queue()
    registration = ref.listen(lambda event: events.put((event.event_type, event.path, event.data)))
    try:
        assert events.get(timeout=5) == ("put", "/", {"a": 1})
        ref.child("b").set(2)
        assert events.get(timeout=5) == ("put", "/b", 2)
        ref.update({"c": 3, "d": 4})
        assert events.get(timeout=5) == ("patch", "/", {"c": 3, "d": 4})
        db.reference("/sdk", app=app).update({"listen/e": 5, "elsewhere": 1})  # a multi-path write above it
        assert events.get(timeout=5) == ("put", "/e", 5)
    finally:
        registration.close()


def test_refuses_what_it_does_not_implement(standin):
    base = f"{standin.url}/sdk/refused.json"
    owner = {"Authorization": "Bearer owner"}
    ns = {"ns": standin.namespace}

    def refused(answer, status=400):
        assert answer.status_code == status, answer.text
        assert "error" in answer.json()

    refused(requests.put(base, params=ns, headers=owner, json=[1, 2]))  # arrays
    refused(requests.put(base, params=ns, headers=owner, json={"a.b": 1}))  # a key Firebase forbids
    refused(requests.get(base, params={**ns, "orderBy": '"$value"'}, headers=owner))
    refused(requests.get(base, params={**ns, "endAt": '"x"'}, headers=owner))  # a range without orderBy
    refused(requests.get(base, params={**ns, "format": "export"}, headers=owner))
    refused(requests.get(base, params=ns), 401)  # no administrator token
    refused(requests.get(base, params={"ns": "another-db"}, headers=owner), 404)
    refused(requests.patch(f"{standin.url}/.json", params=ns, headers=owner, json={"a": 1, "a/b": 2}))


def test_print_silent_and_writes_failing_on_demand(standin):
    url = f"{standin.url}/sdk/silent.json"
    params = {"ns": standin.namespace, "print": "silent"}
    answer = requests.patch(url, params=params, headers={"Authorization": "Bearer owner"}, json={"a": 1})
    assert answer.status_code == 204 and answer.content == b""
    standin.fail_writes()
    try:
        answer = requests.patch(url, params=params, headers={"Authorization": "Bearer owner"}, json={"a": 2})
        assert answer.status_code == 503
    finally:
        standin.heal()
    assert standin.get("sdk/silent") == {"a": 1}
