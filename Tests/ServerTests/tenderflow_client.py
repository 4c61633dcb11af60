"""A python-socketio client of the TenderFlow namespaces, shared by the feature and the cluster tests."""
import asyncio
import json

import socketio


class Client:
    """A python-socketio client on /tenders and /system that records every event it receives."""

    def __init__(self, server, user):
        self.server = server
        self.user = user
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events = asyncio.Queue()

        @self.sio.on("*", namespace="*")
        async def record(event, namespace, *arguments):
            await self.events.put((namespace, event, arguments))

    async def __aenter__(self):
        await self.sio.connect(self.server.url, namespaces=["/tenders", "/system"], auth={"user": self.user},
                               transports=["websocket"], wait_timeout=5)
        return self

    async def __aexit__(self, *exc):
        await self.sio.disconnect()

    async def call(self, event, data):
        return await self.sio.call(event, data, namespace="/tenders", timeout=5)

    async def expect(self, name, namespace="/tenders"):
        while True:
            got_namespace, event, arguments = await asyncio.wait_for(self.events.get(), 5)
            if event == name and got_namespace == namespace:
                return arguments[0] if arguments else None

    async def nothing_more(self, name, seconds=0.5):
        try:
            while True:
                _, event, _ = await asyncio.wait_for(self.events.get(), seconds)
                assert event != name, f"{self.user} unexpectedly got {name}"
        except asyncio.TimeoutError:
            pass


class TendersOverWebSocket:
    """Socket.IO on /tenders over a raw WebSocket (`self.ws`, websockets' sync client), as socket.io-client speaks
    it: pings answered on the way, subscriptions acknowledged, and each event's recovery offset kept."""

    def connect_namespace(self, auth, pid=None, offset=None):
        """CONNECT to /tenders with `auth`, and the private id and offset of a session to recover when given."""
        self.ws.send("40/tenders," + json.dumps({**auth, **({"pid": pid, "offset": offset} if pid else {})}))
        reply = self.next()
        assert reply.startswith("40/tenders,"), reply
        connected = json.loads(reply[len("40/tenders,"):])
        self.sid, self.pid, self.offset = connected["sid"], connected["pid"], offset

    def next(self):
        """The next frame, answering the server's pings on the way."""
        while True:
            frame = self.ws.recv(timeout=10)
            if frame == "2":
                self.ws.send("3")
                continue
            return frame

    def subscribe(self, tender):
        self.ws.send('42/tenders,1["subscribe",{"tenderId":"%s"}]' % tender)
        while not (frame := self.next()).startswith("43/tenders,1"):
            pass
        assert json.loads(frame[len("43/tenders,1"):])[0]["ok"], frame

    def sequences(self, count):
        """The sequence numbers of the next `count` tender:update events; each carries its offset last."""
        return [data["sequence"] for data in self.events("tender:update", count)]

    def events(self, name, count):
        """The payloads of the next `count` events `name`, keeping the offset each carries last."""
        received = []
        prefix = '42/tenders,["%s"' % name
        while len(received) < count:
            frame = self.next()
            if not frame.startswith(prefix):
                continue
            _, data, self.offset = json.loads(frame[len("42/tenders,"):])
            received.append(data)
        return received
