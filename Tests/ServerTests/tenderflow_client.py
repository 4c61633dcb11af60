"""A python-socketio client of the TenderFlow namespaces, shared by the feature and the cluster tests."""
import asyncio

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
