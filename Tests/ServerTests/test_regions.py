"""Regions, each with its own redis-server, joined by the relay: broadcasts and presence cross regions, and the
regions an instance relays to follow the relay endpoints file while it runs (added, broken, removed)."""
import asyncio
import json
import os
import time

from conftest import PUBLISH_TOKEN, Redis, Server, metrics
from tenderflow_client import Client
from test_cluster import run, send_updates, updates


def write_relay_endpoints(path, redis):
    """The relay endpoints document (tfctl.relay-endpoints/v1) of these regions' Redis, replaced atomically as
    Secret Manager serves a new version: a reader sees the old document or the new one, never half of one."""
    document = {"format": "tfctl.relay-endpoints/v1",
                "regions": {region: {"url": instance.url} for region, instance in sorted(redis.items())}}
    with open(path + ".new", "w") as handle:
        json.dump(document, handle)
    os.replace(path + ".new", path)


def regional_server(region, redis, endpoints, **settings):
    return Server("tenderflow", PUBLISH_TOKEN=PUBLISH_TOKEN, REDIS_URL=redis[region].url, TFCTL_REGION=region,
                  RELAY_ENDPOINTS_FILE=endpoints, **settings)


def test_two_regions_each_with_its_redis_share_broadcasts_and_presence_through_the_relay(tmp_path):
    redis = {"a": Redis(), "b": Redis()}
    endpoints = str(tmp_path / "endpoints.json")
    write_relay_endpoints(endpoints, redis)
    servers = {region: [regional_server(region, redis, endpoints) for _ in range(2)] for region in ("a", "b")}
    (a1, a2), (b1, b2) = servers["a"], servers["b"]
    try:
        async def scenario():
            async with Client(a1, "ann") as ann, Client(a2, "al") as al, Client(b1, "ben") as ben, \
                    Client(b2, "bo") as bo:
                clients = (ann, al, ben, bo)
                for client in clients:
                    assert (await client.call("subscribe", {"tenderId": "31"}))["ok"]
                for server, offset in ((a1, 0), (b2, 50)):
                    await asyncio.to_thread(send_updates, server, range(offset, offset + 50), "31")
                for client in clients:
                    assert await updates(client, 100) == list(range(100))
                    await client.nothing_more("tender:update")
                # Presence crosses regions: Ben, in region b, sees Ann of region a, and hears when she leaves.
                assert (await ann.call("presence:join", {"tenderId": "31", "mode": "editing"}))["ok"]
                assert await ben.expect("presence:joined") == {"tenderId": "31", "user": "ann", "mode": "editing"}
                assert (await ben.call("presence:list", {"tenderId": "31"}))["presence"] == [
                    {"user": "ann", "mode": "editing"}]
                assert (await ann.call("presence:leave", {"tenderId": "31"}))["ok"]
                assert await ben.expect("presence:left") == {"tenderId": "31", "user": "ann"}
                assert (await ben.call("presence:list", {"tenderId": "31"}))["presence"] == []
                # Region b's Redis goes away: region a carries on by itself, and counts what could not cross.
                redis["b"].kill()
                # The relay knows region b is gone once its connection's end is read; a publish before that goes
                # into a dead socket (the last CI run published first on a loaded machine). So publish until one is
                # counted as not crossing: every one still reaches region a's clients.
                dropped = 'realtime_cluster_messages_dropped_total{reason="relay_unavailable"}'
                deadline = time.monotonic() + 10
                for sequence in range(100, 1000):
                    await asyncio.to_thread(send_updates, a1, [sequence], "31")
                    for client in (ann, al):
                        assert await updates(client, 1) == [sequence]
                    if metrics(a1)[dropped] >= 1:
                        break
                    assert time.monotonic() < deadline, "region a never counted a relay to region b as unavailable"
                    await asyncio.sleep(0.1)

        run(scenario())
    finally:
        for server in servers["a"] + servers["b"]:
            server.stop()
        for instance in redis.values():
            instance.kill()


def test_a_region_added_to_the_relay_endpoints_is_reached_without_a_restart_and_a_broken_file_changes_nothing(
        tmp_path):
    redis = {"a": Redis(), "b": Redis()}
    endpoints = str(tmp_path / "endpoints.json")
    write_relay_endpoints(endpoints, redis)
    servers = [regional_server(region, redis, endpoints, RELAY_REFRESH_MS=1000) for region in ("a", "b")]
    try:
        # Region c comes up: its Redis, its instance (which reads the new document at start), then the document
        # that names it, as `tfctl apply` does. The instances of a and b were started before and keep running.
        redis["c"] = Redis()
        write_relay_endpoints(endpoints, redis)
        servers.append(regional_server("c", redis, endpoints, RELAY_REFRESH_MS=1000))
        a, b, c = servers

        async def reaches(sender, receiver, sequence):
            """Publishes through `sender` until `receiver` gets an update (the relay may not be open yet)."""
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                await asyncio.to_thread(send_updates, sender, [sequence], "51")
                try:
                    return await asyncio.wait_for(receiver.expect("tender:update"), 1)
                except asyncio.TimeoutError:
                    continue
            raise AssertionError("the new region was never reached")

        async def drained(*clients):
            """The updates each client has received and not read yet, once it has been quiet for 0.5 s."""
            received = []
            for client in clients:
                try:
                    while True:
                        received.append((await asyncio.wait_for(client.expect("tender:update"), 0.5))["sequence"])
                except asyncio.TimeoutError:
                    pass
            return received

        async def scenario():
            async with Client(a, "ann") as ann, Client(b, "ben") as ben, Client(c, "cy") as cy:
                for client in (ann, ben, cy):
                    assert (await client.call("subscribe", {"tenderId": "51"}))["ok"]
                # a and b learn c from the file, within the refresh interval, with no restart.
                await reaches(a, cy, 0)
                await reaches(b, cy, 1)
                await reaches(c, ann, 2)
                assert metrics(a)["realtime_relay_regions"] == 2 and metrics(a)["realtime_relay_document_accepted"] == 1
                # A broken document (a bad write, a disabled version) is refused whole: the relays stay.
                with open(endpoints, "w") as handle:
                    handle.write('{"format": "tfctl.relay-endpoints/v1", "regions": {"c": {}}}')
                await asyncio.sleep(2.5)
                assert metrics(a)["realtime_relay_document_accepted"] == 0
                assert metrics(a)["realtime_relay_regions"] == 2  # b and c, as before the broken write
                await drained(cy, ann)
                await asyncio.to_thread(send_updates, a, [100], "51")
                assert await drained(cy) == [100]
                await drained(ann, ben)
                await asyncio.to_thread(send_updates, c, [101], "51")
                assert await drained(ann) == [101]
                # c removed from the document: a closes its relay and no longer publishes there.
                write_relay_endpoints(endpoints, {"a": redis["a"], "b": redis["b"]})
                await asyncio.sleep(2.5)
                await drained(cy)
                assert metrics(a)["realtime_relay_regions"] == 1
                await asyncio.to_thread(send_updates, a, [102], "51")
                await cy.nothing_more("tender:update", seconds=1)

        run(scenario())
        logged = [record for record in a.log
                  if record.get("message") == "kept the relays: the relay endpoints file could not be used"]
        assert len(logged) == 1, logged  # once, not once per refresh
        assert "c" in logged[0]["relays"]
    finally:
        for server in servers:
            server.stop()
        for instance in redis.values():
            instance.kill()
