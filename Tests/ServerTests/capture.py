"""A TCP proxy in front of the real server that records every HTTP request a client sends, as the bytes arrived:
request line, headers in wire order, body. After a WebSocket upgrade the connection carries frames, which a load
balancer's WAF does not inspect, so recording stops there and the bytes are only relayed."""
import socket
import threading

from crs import Request


class RecordingProxy:
    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.requests = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.listener.close()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._relay, args=(upstream, client), daemon=True).start()
            threading.Thread(target=self._record, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _relay(source, destination):
        try:
            while data := source.recv(65536):
                destination.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, destination):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _record(self, client, upstream):
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = client.recv(65536)
                    if not data:
                        return
                    upstream.sendall(data)
                    buffer += data
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = tuple(tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:])
                fields = {name.lower(): value for name, value in headers}
                length = int(fields.get("content-length", "0"))
                while len(buffer) < length:
                    data = client.recv(65536)
                    if not data:
                        return
                    upstream.sendall(data)
                    buffer += data
                body, buffer = buffer[:length], buffer[length:]
                with self.lock:
                    self.requests.append(Request(method, target, headers, body))
                if fields.get("upgrade", "").lower() == "websocket":
                    if buffer:
                        upstream.sendall(buffer)
                    self._relay(client, upstream)
                    return
        except OSError:
            pass
