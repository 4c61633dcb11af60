"""TenderFlow's collaboration features with real python-socketio clients on two server processes joined through a
real redis-server: notifications to every device of a user, online status, edit leases, versioned updates with
conflicts and the backend handoff, comments, job progress and the activity feed; with a killed instance and a
dropped connection where the feature promises to survive them."""
import asyncio
import json

import pytest
import redis as redis_client

from conftest import PUBLISH_TOKEN, Redis, instances, publish
from tenderflow_client import Client
from test_cluster import RecoveringClient
from test_regions import regional_server, write_relay_endpoints

# Short enough for a test, long enough for a loaded machine: heartbeats every 300 ms, holds lapse after 900 ms.
SETTINGS = {"PUBLISH_TOKEN": PUBLISH_TOKEN, "PRESENCE_TTL_MS": 900, "STATUS_DEBOUNCE_MS": 1500,
            "EDIT_LEASE_GRACE_MS": 1500}


@pytest.fixture
def team():
    """A real redis-server and two instances of the server on it."""
    with instances(2, **SETTINGS) as (redis, servers):
        yield redis, servers


def run(coroutine):
    asyncio.run(coroutine)


async def subscribe(tender, *clients):
    answers = []
    for client in clients:
        answer = await client.call("subscribe", {"tenderId": tender})
        assert answer["ok"], answer
        answers.append(answer)
    return answers


async def posted(server, body):
    response = await asyncio.to_thread(publish, server, body)
    assert response.status_code == 202, response.text
    return response


class Backend:
    """A backend consuming the handoff stream as README says to: a consumer group, each entry acknowledged once it
    is applied, and what a crashed consumer read but never acknowledged claimed again by another."""

    STREAM, GROUP = "tfctl-rt:handoff", "backend"

    def __init__(self, redis):
        self.client = redis_client.Redis(port=redis.port, decode_responses=True)
        self.client.xgroup_create(self.STREAM, self.GROUP, id="0", mkstream=True)

    def read(self, consumer, acknowledge=True):
        """Every entry not yet delivered to the group: (id, fields); applied ones are acknowledged and deleted, as
        README asks of a backend (the server refuses new updates while HANDOFF_MAX_ENTRIES wait)."""
        entries = []
        for _, stream in self.client.xreadgroup(self.GROUP, consumer, {self.STREAM: ">"}, count=1000) or []:
            for entry_id, fields in stream:
                entries.append((entry_id, fields))
                if acknowledge:
                    self.client.xack(self.STREAM, self.GROUP, entry_id)
                    self.client.xdel(self.STREAM, entry_id)
        return entries

    def claim(self, consumer):
        """What other consumers read and did not acknowledge (they crashed): delivered again, to `consumer`."""
        _, entries, _ = self.client.xautoclaim(self.STREAM, self.GROUP, consumer, min_idle_time=0, start_id="0")
        return entries


# MARK: Notifications to a user


def test_a_notification_to_a_user_reaches_every_device_on_every_instance(team):
    _, (first, second) = team

    async def scenario():
        async with Client(first, "alice") as laptop, Client(second, "alice") as phone, Client(first, "bob") as bob:
            response = await posted(first, {"namespace": "/system", "user": "alice", "event": "notification",
                                             "data": {"title": "Tender 42 closes in 1 h"}})
            assert response.json() == {"delivered": 1}  # this instance's socket; the phone is on the other
            for device in (laptop, phone):
                assert (await device.expect("notification", namespace="/system"))["title"] == "Tender 42 closes in 1 h"
            await bob.nothing_more("notification")

    run(scenario())


def test_a_publication_names_a_room_or_a_user_not_both(team):
    _, (first, _) = team
    response = publish(first, {"namespace": "/system", "user": "alice", "room": "x", "event": "n", "data": {}})
    assert response.status_code == 400 and "not both" in response.json()["error"]
    response = publish(first, {"namespace": "/system", "user": "", "event": "n", "data": {}})
    assert response.status_code == 400


# MARK: Online status


def test_online_status_is_announced_once_and_a_quick_reconnect_is_no_flap(team):
    _, (first, second) = team

    async def scenario():
        async with Client(second, "carol") as carol:
            watched = await carol.call("status:watch", {"users": ["alice"]})
            assert watched == {"ok": True, "statuses": [{"user": "alice", "online": False}]}
            async with Client(first, "alice"):
                assert await carol.expect("status:online") == {"user": "alice", "online": True}
                async with Client(second, "alice"):  # a second device: no second announcement
                    await carol.nothing_more("status:online", seconds=0.5)
            # Gone, and back within the debounce (a deploy, a network blip): neither offline nor online is said.
            async with Client(second, "alice"):
                await carol.nothing_more("status:offline", seconds=2.5)
            offline = await carol.expect("status:offline")
            assert offline["user"] == "alice" and offline["lastSeen"] > 1_700_000_000_000
            await carol.nothing_more("status:offline", seconds=1.5)
            again = await carol.call("status:watch", {"users": ["alice"]})
            assert again["statuses"] == [{"user": "alice", "online": False, "lastSeen": offline["lastSeen"]}]

    run(scenario())


def test_a_watcher_who_asks_during_the_debounce_is_told_online(team):
    """Gone, but within the debounce: a reconnect then announces nothing, so online is the only true answer."""
    _, (first, second) = team

    async def scenario():
        async with Client(first, "alice"):
            pass
        async with Client(second, "carol") as carol:
            watched = await carol.call("status:watch", {"users": ["alice"]})
            assert watched["statuses"] == [{"user": "alice", "online": True}]
            async with Client(first, "alice"):
                await carol.nothing_more("status:offline", seconds=2)

    run(scenario())


def test_a_killed_instances_users_go_offline_within_the_ttl_announced_once():
    with instances(3, **SETTINGS) as (redis, servers):
        doomed, *survivors = servers

        async def scenario():
            async with Client(survivors[0], "carol") as carol, Client(survivors[1], "dave") as dave:
                for watcher in (carol, dave):
                    assert (await watcher.call("status:watch", {"users": ["alice"]}))["ok"]
                alice = Client(doomed, "alice")
                await alice.__aenter__()
                for watcher in (carol, dave):
                    assert await watcher.expect("status:online") == {"user": "alice", "online": True}
                doomed.process.kill()  # SIGKILL: no goodbye, no cleanup
                doomed.process.wait()
                for watcher in (carol, dave):
                    assert (await watcher.expect("status:offline"))["user"] == "alice"
                for watcher in (carol, dave):
                    await watcher.nothing_more("status:offline", seconds=1.5)

        run(scenario())


# MARK: Edit leases


def test_an_edit_lease_is_exclusive_across_instances_and_visible_to_the_room(team):
    _, (first, second) = team

    async def scenario():
        async with Client(first, "alice") as alice, Client(second, "bob") as bob:
            await subscribe("42", alice, bob)
            granted = await alice.call("edit:acquire", {"tenderId": "42", "section": "pricing"})
            assert granted["ok"] and granted["lease"]["user"] == "alice", granted
            seen = await bob.expect("edit:leases")
            assert [(lease["section"], lease["user"]) for lease in seen["leases"]] == [("pricing", "alice")]
            refused = await bob.call("edit:acquire", {"tenderId": "42", "section": "pricing"})
            assert refused["ok"] is False and refused["error"] == "held" and refused["holder"]["user"] == "alice"
            # Another section is free.
            assert (await bob.call("edit:acquire", {"tenderId": "42", "section": "terms"}))["ok"]
            listed = await alice.call("edit:leases", {"tenderId": "42"})
            assert [lease["section"] for lease in listed["leases"]["leases"]] == ["pricing", "terms"]
            assert listed["leases"]["revision"] >= seen["revision"] + 1
            released = await alice.call("edit:release", {"tenderId": "42", "section": "pricing"})
            assert released["ok"]
            assert (await bob.call("edit:acquire", {"tenderId": "42", "section": "pricing"}))["ok"]
            # A late subscriber gets the leases with its subscription.
            async with Client(first, "carol") as carol:
                (answer,) = await subscribe("42", carol)
                assert {lease["user"] for lease in answer["leases"]["leases"]} == {"bob"}

    run(scenario())


def test_only_one_of_many_concurrent_acquirers_gets_a_lease(team):
    _, servers = team

    async def scenario():
        clients = [Client(servers[index % 2], f"user{index}") for index in range(8)]
        for client in clients:
            await client.__aenter__()
        try:
            await subscribe("7", *clients)
            answers = await asyncio.gather(
                *(client.call("edit:acquire", {"tenderId": "7", "section": "scope"}) for client in clients))
            winners = [answer for answer in answers if answer["ok"]]
            assert len(winners) == 1, answers
            holder = winners[0]["lease"]["user"]
            assert all(answer["holder"]["user"] == holder for answer in answers if not answer["ok"])
        finally:
            for client in clients:
                await client.__aexit__()

    run(scenario())


def test_a_lease_outlives_a_dropped_connection_for_the_grace_then_lapses_for_the_room(team):
    _, (first, second) = team

    async def scenario():
        async with Client(second, "bob") as bob:
            await subscribe("9", bob)
            async with Client(first, "alice") as alice:
                await subscribe("9", alice)
                assert (await alice.call("edit:acquire", {"tenderId": "9", "section": "pricing"}))["ok"]
                await bob.expect("edit:leases")
            # Alice's connection is gone; within the grace her lease holds, and she may take it back.
            refused = await bob.call("edit:acquire", {"tenderId": "9", "section": "pricing"})
            assert refused["error"] == "held"
            async with Client(second, "alice") as back:
                await subscribe("9", back)
                assert (await back.call("edit:acquire", {"tenderId": "9", "section": "pricing"}))["ok"]
            # Gone for good: the lease lapses after the grace and the room is told.
            while True:
                seen = await bob.expect("edit:leases")
                if not seen["leases"]:
                    break
            assert (await bob.call("edit:acquire", {"tenderId": "9", "section": "pricing"}))["ok"]

    run(scenario())


def test_the_lease_of_a_killed_instances_user_lapses_and_is_announced():
    with instances(2, **SETTINGS) as (redis, servers):
        doomed, survivor = servers

        async def scenario():
            async with Client(survivor, "bob") as bob:
                await subscribe("5", bob)
                alice = Client(doomed, "alice")
                await alice.__aenter__()
                await subscribe("5", alice)
                assert (await alice.call("edit:acquire", {"tenderId": "5", "section": "pricing"}))["ok"]
                assert (await bob.expect("edit:leases"))["leases"]
                doomed.process.kill()
                doomed.process.wait()
                while (await bob.expect("edit:leases"))["leases"]:
                    pass
                assert (await bob.call("edit:acquire", {"tenderId": "5", "section": "pricing"}))["ok"]

        run(scenario())


# MARK: Versioned updates and comments


def test_concurrent_updates_one_wins_the_other_gets_a_conflict_and_the_backend_gets_the_winner(team):
    redis, (first, second) = team

    async def scenario():
        async with Client(first, "alice") as alice, Client(second, "bob") as bob, Client(second, "carol") as carol:
            await subscribe("42", alice, bob, carol)
            answers = await asyncio.gather(
                alice.call("tender:update", {"tenderId": "42", "section": "pricing", "baseVersion": 0,
                                             "patch": {"amount": 100}}),
                bob.call("tender:update", {"tenderId": "42", "section": "pricing", "baseVersion": 0,
                                           "patch": {"amount": 200}}))
            accepted = [answer for answer in answers if answer["ok"]]
            refused = [answer for answer in answers if not answer["ok"]]
            assert len(accepted) == 1 and accepted[0]["version"] == 1, answers
            assert refused == [{"ok": False, "error": "conflict", "currentVersion": 1}]
            loser = bob if answers[0]["ok"] else alice
            conflict = await loser.expect("tender:conflict")
            assert conflict == {"tenderId": "42", "section": "pricing", "baseVersion": 0, "currentVersion": 1}
            updated = await carol.expect("tender:updated")
            assert updated["version"] == 1 and updated["section"] == "pricing"
            # The loser merges and retries on the current version.
            retried = await loser.call("tender:update", {"tenderId": "42", "section": "pricing", "baseVersion": 1,
                                                         "patch": {"amount": 300}, "requestId": "r-1"})
            assert retried == {"ok": True, "version": 2}
            # Its answer was lost, it asks again: the same version, not a conflict, not a second update.
            again = await loser.call("tender:update", {"tenderId": "42", "section": "pricing", "baseVersion": 1,
                                                       "patch": {"amount": 300}, "requestId": "r-1"})
            assert again == {"ok": True, "version": 2, "duplicate": True}
            # The room gets it again (its first broadcast might have died with an instance): one per version.
            assert [(await carol.expect("tender:updated"))["version"] for _ in range(2)] == [2, 2]
            await carol.nothing_more("tender:updated")
            # The same id for another patch is not a retry.
            reused = await loser.call("tender:update", {"tenderId": "42", "section": "pricing", "baseVersion": 1,
                                                        "patch": {"amount": 301}, "requestId": "r-1"})
            assert reused == {"ok": False, "error": "requestId was used for another request"}
            # Another user's request with the same id is another request.
            other = await carol.call("tender:update", {"tenderId": "42", "section": "pricing", "baseVersion": 2,
                                                       "patch": {"amount": 400}, "requestId": "r-1"})
            assert other == {"ok": True, "version": 3}

    run(scenario())
    backend = Backend(redis)
    # A consumer reads the accepted updates and crashes before acknowledging them.
    updates = [fields for _, fields in backend.read("worker-1", acknowledge=False) if fields["kind"] == "update"]
    epoch = updates[0]["epoch"]
    assert [(update["key"], update["version"]) for update in updates] == [
        (f"42/pricing/{epoch}/{version}", str(version)) for version in range(1, len(updates) + 1)]
    assert json.loads(updates[1]["data"]) == {"amount": 300}
    # At least once: another consumer gets them again, with the same idempotency keys.
    again = [fields for _, fields in backend.claim("worker-2") if fields["kind"] == "update"]
    assert [update["key"] for update in again] == [update["key"] for update in updates]


def test_a_patch_over_its_bound_is_refused_and_a_full_handoff_stream_holds_updates_back():
    with instances(1, HANDOFF_MAX_ENTRIES=2, **SETTINGS) as (redis, (server,)):
        async def scenario():
            async with Client(server, "alice") as alice:
                await subscribe("6", alice)
                update = {"tenderId": "6", "section": "s"}
                too_big = await alice.call("tender:update", {**update, "baseVersion": 0, "patch": "x" * 16_400})
                assert too_big == {"ok": False, "error": "patch is over 16384 bytes"}
                assert (await alice.call("tender:update", {**update, "baseVersion": 0, "patch": 1}))["ok"]
                assert (await alice.call("comment:add", {"tenderId": "6", "text": "one"}))["ok"]
                # Two entries wait for the backend: nothing more is accepted that it could not be handed.
                held_back = {"ok": False, "error": "backend behind: retry"}
                assert await alice.call("tender:update", {**update, "baseVersion": 1, "patch": 2}) == held_back
                assert await alice.call("comment:add", {"tenderId": "6", "text": "two"}) == held_back
                assert [fields["kind"] for _, fields in Backend(redis).read("worker")] == ["update", "comment"]
                assert await alice.call("tender:update", {**update, "baseVersion": 1, "patch": 2}) == {
                    "ok": True, "version": 2}

        run(scenario())


def test_a_finished_job_stays_finished(team):
    _, (first, second) = team
    job = {"jobId": "scan-1", "tenderId": "42", "file": "bid.pdf"}
    for server, percent, state in ((first, 100, "succeeded"), (second, 90, "running")):
        response = publish(server, {"namespace": "/tenders", "room": "tender:42", "event": "job:progress",
                                    "data": {**job, "percent": percent, "state": state}})
        if state == "succeeded":
            assert response.status_code == 202, response.text
    assert response.status_code == 409 and "succeeded already" in response.json()["error"], response.text

    async def scenario():
        async with Client(first, "alice") as alice:
            (answer,) = await subscribe("42", alice)
            assert [(entry["percent"], entry["state"]) for entry in answer["jobs"]] == [(100, "succeeded")]
    run(scenario())


def test_an_update_to_a_section_another_user_leases_is_refused(team):
    _, (first, second) = team

    async def scenario():
        async with Client(first, "alice") as alice, Client(second, "bob") as bob:
            await subscribe("3", alice, bob)
            assert (await alice.call("edit:acquire", {"tenderId": "3", "section": "terms"}))["ok"]
            refused = await bob.call("tender:update", {"tenderId": "3", "section": "terms", "baseVersion": 0,
                                                       "patch": "x"})
            assert refused["ok"] is False and refused["error"] == "leased" and refused["holder"]["user"] == "alice"
            assert (await alice.call("tender:update", {"tenderId": "3", "section": "terms", "baseVersion": 0,
                                                       "patch": "x"}))["ok"]

    run(scenario())


def test_comments_are_numbered_in_order_acked_broadcast_and_handed_off(team):
    redis, (first, second) = team

    async def scenario():
        async with Client(first, "alice") as alice, Client(second, "bob") as bob:
            await subscribe("12", alice, bob)
            answers = await asyncio.gather(*(
                (alice if index % 2 else bob).call("comment:add", {"tenderId": "12", "text": f"comment {index}"})
                for index in range(10)))
            assert sorted(answer["id"] for answer in answers) == list(range(1, 11)), answers
            received = [await alice.expect("comment:added") for _ in range(10)]
            assert sorted(comment["id"] for comment in received) == list(range(1, 11))
            first_comment = next(comment for comment in received if comment["id"] == 1)
            assert set(first_comment) >= {"tenderId", "id", "user", "at", "text"}
            reply = await bob.call("comment:add", {"tenderId": "12", "text": "agreed", "replyTo": 1,
                                                   "requestId": "c-9"})
            assert reply["id"] == 11
            assert (await bob.call("comment:add", {"tenderId": "12", "text": "agreed", "replyTo": 1,
                                                   "requestId": "c-9"}))["duplicate"] is True
            assert (await alice.expect("comment:added"))["replyTo"] == 1

    run(scenario())
    comments = [fields for _, fields in Backend(redis).read("worker") if fields["kind"] == "comment"]
    assert sorted(int(comment["comment"]) for comment in comments) == list(range(1, 12))
    assert len({comment["key"] for comment in comments}) == 11


# MARK: Jobs and activity


def test_a_late_subscriber_gets_each_jobs_current_state_at_once(team):
    _, (first, second) = team

    async def scenario():
        async with Client(first, "alice") as alice:
            await subscribe("42", alice)
            for percent, state in ((10, "running"), (70, "running")):
                await posted(second, {"namespace": "/tenders", "room": "tender:42", "event": "job:progress",
                                      "data": {"jobId": "upload-1", "tenderId": "42", "percent": percent,
                                               "state": state, "file": "specs.pdf"}})
            assert (await alice.expect("job:progress"))["percent"] == 10
            assert (await alice.expect("job:progress"))["percent"] == 70
            async with Client(second, "bob") as bob:
                (answer,) = await subscribe("42", bob)
                (job,) = answer["jobs"]
                assert (job["jobId"], job["percent"], job["state"], job["file"]) == ("upload-1", 70, "running",
                                                                                     "specs.pdf")
                assert (await bob.call("job:list", {"tenderId": "42"}))["jobs"] == answer["jobs"]

    run(scenario())


@pytest.mark.parametrize("data, message", [
    ({"tenderId": "42", "percent": 5, "state": "running"}, "jobId"),
    ({"jobId": "j", "tenderId": "43", "percent": 5, "state": "running"}, "tenderId"),
    ({"jobId": "j", "tenderId": "42", "percent": 101, "state": "running"}, "percent"),
    ({"jobId": "j", "tenderId": "42", "percent": 5, "state": "exploded"}, "state"),
    ("not an object", "jobId"),
])
def test_a_malformed_job_progress_is_refused(team, data, message):
    _, (first, _) = team
    response = publish(first, {"namespace": "/tenders", "room": "tender:42", "event": "job:progress", "data": data})
    assert response.status_code == 400 and message in response.json()["error"], response.text


def test_the_activity_feed_lists_a_tenders_recent_events_in_order(team):
    _, (first, second) = team

    async def scenario():
        async with Client(first, "alice") as alice:
            await subscribe("77", alice)
            assert (await alice.call("presence:join", {"tenderId": "77"}))["ok"]  # state, not activity
            for amount in (100, 200, 300):
                await posted(second, {"namespace": "/tenders", "room": "tender:77", "event": "bid:placed",
                                      "data": {"amount": amount}})
            assert (await alice.call("comment:add", {"tenderId": "77", "text": "looks good"}))["ok"]
            # Activity is written without waiting: the last one may still be on its way.
            for _ in range(50):
                listed = await alice.call("activity:list", {"tenderId": "77", "limit": 3})
                if len(listed["events"]) == 3 and listed["events"][-1]["event"] == "comment:added":
                    break
                await asyncio.sleep(0.05)
            assert [(event["event"], event["data"].get("amount")) for event in listed["events"]] == [
                ("bid:placed", 200), ("bid:placed", 300), ("comment:added", None)]
            assert listed["events"][0]["at"] <= listed["events"][-1]["at"]
            everything = await alice.call("activity:list", {"tenderId": "77"})
            assert [event["event"] for event in everything["events"]] == ["bid:placed"] * 3 + ["comment:added"]

    run(scenario())


# MARK: Bad payloads, and no Redis


@pytest.mark.parametrize("event, data", [
    ("edit:acquire", {"tenderId": "1"}),
    ("edit:acquire", {"tenderId": "1", "section": "a/b"}),
    ("edit:acquire", {"tenderId": "2", "section": "s"}),  # not subscribed
    ("edit:release", {"section": "s"}),
    ("tender:update", {"tenderId": "1", "section": "s", "baseVersion": -1, "patch": {}}),
    ("tender:update", {"tenderId": "1", "section": "s", "baseVersion": 1.5, "patch": {}}),
    ("tender:update", {"tenderId": "1", "section": "s", "baseVersion": "0", "patch": {}}),
    ("tender:update", {"tenderId": "1", "section": "s", "baseVersion": 0}),
    ("tender:update", {"tenderId": "1", "section": "s", "baseVersion": 0, "patch": {}, "requestId": "no spaces"}),
    ("comment:add", {"tenderId": "1", "text": "   "}),
    ("comment:add", {"tenderId": "1", "text": "x" * 4001}),
    ("comment:add", {"tenderId": "1", "text": "x", "replyTo": 0}),
    ("comment:add", {"tenderId": "1", "text": 5}),
    ("activity:list", {"tenderId": "1", "limit": 0}),
    ("activity:list", {"tenderId": "1", "limit": 101}),
    ("status:watch", {"users": []}),
    ("status:watch", {"users": "alice"}),
    ("status:watch", {"users": [""]}),
    ("status:watch", {"users": ["u"] * 51}),
    ("job:list", None),
])
def test_a_bad_payload_gets_an_error_ack_and_the_socket_goes_on(team, event, data):
    _, (first, _) = team

    async def scenario():
        async with Client(first, "alice") as alice:
            await subscribe("1", alice)
            answer = await alice.sio.call(event, data, namespace="/tenders", timeout=5)
            assert answer["ok"] is False and answer["error"], answer
            assert (await alice.call("edit:leases", {"tenderId": "1"}))["ok"]

    run(scenario())


def test_without_redis_the_coordinated_features_say_so_and_the_rest_works(tenderflow_server):
    async def scenario():
        async with Client(tenderflow_server, "alice") as alice:
            (answer,) = await subscribe("1", alice)
            assert "leases" not in answer
            for event, data in (("edit:acquire", {"tenderId": "1", "section": "s"}),
                                ("tender:update", {"tenderId": "1", "section": "s", "baseVersion": 0, "patch": 1}),
                                ("comment:add", {"tenderId": "1", "text": "hi"}),
                                ("status:watch", {"users": ["bob"]})):
                assert await alice.call(event, data) == {"ok": False, "error": "coordination unavailable: retry"}
            # Job progress is delivered, not kept.
            await posted(tenderflow_server, {"namespace": "/tenders", "room": "tender:1", "event": "job:progress",
                                             "data": {"jobId": "j", "tenderId": "1", "percent": 1, "state": "queued"}})
            assert (await alice.expect("job:progress"))["percent"] == 1
            # Notifications to a user need no Redis.
            await posted(tenderflow_server, {"namespace": "/tenders", "user": "alice", "event": "notification",
                                             "data": {"n": 1}})
            assert await alice.expect("notification") == {"n": 1}

    run(scenario())


# MARK: Recovered after a dropped connection, on another instance


def test_a_users_notifications_and_a_tenders_comments_are_recovered_after_a_drop(team):
    _, (first, second) = team
    rita = RecoveringClient(first, "rita")
    rita.subscribe("21")
    publish(second, {"namespace": "/tenders", "user": "rita", "event": "notification", "data": {"n": 0}})
    assert rita.events("notification", 1) == [{"n": 0}]
    rita.drop()

    async def missed():
        async with Client(second, "sam") as sam:
            await subscribe("21", sam)
            assert (await sam.call("comment:add", {"tenderId": "21", "text": "while you were away"}))["ok"]
    run(missed())
    publish(second, {"namespace": "/tenders", "user": "rita", "event": "notification", "data": {"n": 1}})
    back = RecoveringClient(second, "rita", pid=rita.pid, offset=rita.offset)
    assert back.sid == rita.sid
    assert back.events("comment:added", 1)[0]["text"] == "while you were away"
    assert back.events("notification", 1) == [{"n": 1}]


# MARK: Across regions


def test_regions_decide_leases_and_versions_in_the_coordination_regions_redis(tmp_path):
    """Two regions, each with its own redis-server, joined by the relay; COORDINATION_REGION=a as tfctl sets it.
    A lease or a version is decided once for both, in region a's Redis, which alone holds the handoff stream; when
    it cannot be reached, region b says so instead of deciding by itself."""
    redis = {"a": Redis(), "b": Redis()}
    endpoints = str(tmp_path / "endpoints.json")
    write_relay_endpoints(endpoints, redis)
    servers = {region: regional_server(
        region, redis, endpoints, COORDINATION_REGION="a",
        **{name: value for name, value in SETTINGS.items() if name != "PUBLISH_TOKEN"})
               for region in ("a", "b")}
    try:
        async def until_decided(client, event, data):
            """The answer once region b's relay to region a is up (it connects while the server starts)."""
            for _ in range(100):
                answer = await client.call(event, data)
                if answer.get("error") != "coordination unavailable: retry":
                    return answer
                await asyncio.sleep(0.05)
            return answer

        async def scenario():
            async with Client(servers["a"], "ann") as ann, Client(servers["b"], "ben") as ben:
                await subscribe("50", ann, ben)
                granted = await until_decided(ben, "edit:acquire", {"tenderId": "50", "section": "pricing"})
                assert granted["ok"], granted
                held = await ann.call("edit:acquire", {"tenderId": "50", "section": "pricing"})
                assert held["error"] == "held" and held["holder"]["user"] == "ben"
                assert await ben.call("tender:update", {"tenderId": "50", "section": "pricing", "baseVersion": 0,
                                                        "patch": 1}) == {"ok": True, "version": 1}
                assert (await ann.expect("tender:updated"))["version"] == 1
                assert (await ben.call("edit:release", {"tenderId": "50", "section": "pricing"}))["ok"]
                assert await ann.call("tender:update", {"tenderId": "50", "section": "pricing", "baseVersion": 0,
                                                        "patch": 2}) == {"ok": False, "error": "conflict",
                                                                         "currentVersion": 1}
                assert (await ben.call("comment:add", {"tenderId": "50", "text": "from b"}))["id"] == 1
                assert (await ann.call("comment:add", {"tenderId": "50", "text": "from a"}))["id"] == 2
                redis["a"].kill()
                answer = await ben.call("edit:acquire", {"tenderId": "50", "section": "terms"})
                for _ in range(100):  # until region b notices the relay's connection is gone
                    if not answer["ok"]:
                        break
                    await asyncio.sleep(0.05)
                    answer = await ben.call("edit:acquire", {"tenderId": "50", "section": "terms"})
                assert answer == {"ok": False, "error": "coordination unavailable: retry"}

        run(scenario())
        assert redis["b"].cli("EXISTS", "tfctl-rt:handoff") == "0"
        assert redis["b"].cli("EXISTS", "tfctl-rt:versions:{50}") == "0"
    finally:
        for server in servers.values():
            server.stop()
        for instance in redis.values():
            if instance.process.poll() is None:
                instance.kill()
