"""The real python-socketio client (PyPI) against the server, over each transport it offers."""
import asyncio

import pytest
import socketio

TRANSPORTS = [["polling"], ["websocket"], ["polling", "websocket"]]


async def client(server, transports, namespaces=None, auth=None):
    sio = socketio.AsyncClient(reconnection=False)
    received = asyncio.Queue()

    @sio.on("*", namespace="*")
    async def any_event(event, namespace, *arguments):
        await received.put((namespace, event, arguments))

    await sio.connect(server.url, transports=transports, namespaces=namespaces or ["/"], auth=auth, wait_timeout=5)
    return sio, received


async def next_event(received, name):
    while True:
        namespace, event, arguments = await asyncio.wait_for(received.get(), 5)
        if event == name:
            return namespace, arguments


@pytest.mark.parametrize("transports", TRANSPORTS, ids=["polling", "websocket", "upgrade"])
def test_events_acks_binary_and_heartbeats(socketio_server, transports):
    async def scenario():
        sio, received = await client(socketio_server, transports, auth={"token": "t-1"})
        _, auth = await next_event(received, "auth")
        assert auth == ({"token": "t-1"},)
        await sio.emit("message", ["é", 1, {"nested": [True, None]}])
        _, echoed = await next_event(received, "message-back")
        assert echoed == (["é", 1, {"nested": [True, None]}],)
        assert await sio.call("message-with-ack", {"x": [1, 2]}, timeout=5) == {"x": [1, 2]}
        assert await sio.call("message-with-ack", b"\x00\x01\xff", timeout=5) == b"\x00\x01\xff"
        await asyncio.sleep(1.2)  # four heartbeats at 300 ms: the client answers them and stays connected
        assert sio.connected
        expected = "websocket" if "websocket" in transports else "polling"
        assert sio.transport() == expected
        await sio.disconnect()

    asyncio.run(scenario())


def test_several_namespaces_over_one_connection(socketio_server):
    async def scenario():
        sio, received = await client(socketio_server, ["websocket"], namespaces=["/", "/custom"], auth={"a": 1})
        namespaces = {(await next_event(received, "auth"))[0] for _ in range(2)}
        assert namespaces == {"/", "/custom"}
        assert sio.namespaces.keys() >= {"/", "/custom"}
        await sio.disconnect()

    asyncio.run(scenario())


def test_unknown_namespace_is_refused(socketio_server):
    async def scenario():
        sio = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await sio.connect(socketio_server.url, transports=["websocket"], namespaces=["/nope"], wait_timeout=3)
        await sio.disconnect()

    asyncio.run(scenario())


def test_many_clients_at_once(socketio_server):
    async def scenario():
        clients = [await client(socketio_server, ["websocket"]) for _ in range(50)]
        answers = await asyncio.gather(*[
            sio.call("message-with-ack", index, timeout=5) for index, (sio, _) in enumerate(clients)
        ])
        assert answers == list(range(50))
        for sio, _ in clients:
            await sio.disconnect()

    asyncio.run(scenario())


def test_server_to_client_acknowledgements_and_their_timeout(socketio_server):
    async def scenario():
        results = asyncio.Queue()

        async def connect(delay):
            # Explicit handlers: in python-socketio a handler on "/" hides the "*" catch-all of that namespace.
            sio = socketio.AsyncClient(reconnection=False)

            @sio.on("question")
            async def question(*arguments):
                await asyncio.sleep(delay)
                return "answer to " + arguments[0]

            @sio.on("answer")
            async def answer(*arguments):
                await results.put(("answer", arguments))

            @sio.on("answer-timeout")
            async def timeout(*arguments):
                await results.put(("answer-timeout", arguments))

            @sio.event
            async def disconnect(*reason):  # an unexpected disconnect shows up in the assertion below
                await results.put(("disconnect", reason))

            await sio.connect(socketio_server.url, transports=["websocket"], wait_timeout=5)
            return sio

        answering = await connect(delay=0)
        await answering.emit("ask-back", "life")
        assert await asyncio.wait_for(results.get(), 5) == ("answer", ("answer to life",))
        # Answers after the server's one-second timeout: the server has moved on, and ignores the late answer.
        silent = await connect(delay=2)
        await silent.emit("ask-back", "anything")
        assert await asyncio.wait_for(results.get(), 5) == ("answer-timeout", ("anything",))
        await asyncio.sleep(1.5)
        assert results.empty()
        assert silent.connected
        await answering.disconnect()
        await silent.disconnect()

    asyncio.run(scenario())
