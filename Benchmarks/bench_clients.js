// The receiving side of `make bench`: N WebSocket clients in one process (Node's `ws`, from Debian's node-ws),
// joined to the room (Socket.IO: /tenders, tender:bench; plain: every client of the baseline server). Node reads
// a message in a few microseconds where a Python asyncio client needs 20 to 35, so the latency measured is the
// server's rather than the load generator's backlog.
//
// Usage: node bench_clients.js PORT[,PORT...] N sio|plain (clients spread over the ports round-robin). Prints {"event":"ready"} once every client is in the room; then
// on a line "report EXPECTED" on standard input waits for EXPECTED messages (at most 20 s) and prints
// {"delivered", "p50_ms", "p99_ms"}: receipt time minus the message's `sentAt` (microseconds since the epoch).
const WebSocket = require(process.env.NODE_WS_PATH || "ws");
const readline = require("readline");

const ports = process.argv[2].split(",").map(Number);
const [count, mode] = [Number(process.argv[3]), process.argv[4]];
const nowMicros = () => (performance.timeOrigin + performance.now()) * 1000;
const latencies = [];
const sockets = [];

function connect(port) {
  return new Promise((resolve, reject) => {
    const url = mode === "sio" ? `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket` : `ws://127.0.0.1:${port}/`;
    const ws = new WebSocket(url, { perMessageDeflate: false });
    sockets.push(ws);
    let joined = mode !== "sio";
    ws.on("error", reject);
    ws.on("open", () => joined && resolve());
    ws.on("message", (data) => {
      const text = data.toString();
      if (!joined) {
        if (text.startsWith("0")) ws.send("40/tenders,"); // Engine.IO open: connect the namespace
        else if (text.startsWith("40/tenders,")) ws.send('42/tenders,1["subscribe",{"tenderId":"bench"}]');
        else if (text.startsWith("43/tenders,1")) {
          joined = true;
          resolve();
        }
        return;
      }
      if (text === "2") return ws.send("3"); // Engine.IO ping
      // The digits after "sentAt": (with the fallback's mirror, an "eventId" member follows them).
      const start = text.indexOf('"sentAt":') + 9;
      let end = start;
      while (end < text.length && text.charCodeAt(end) >= 48 && text.charCodeAt(end) <= 57) end++;
      latencies.push((nowMicros() - Number(text.slice(start, end))) / 1000);
    });
  });
}

async function report(expected) {
  const deadline = Date.now() + 20000;
  while (latencies.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  latencies.sort((a, b) => a - b);
  const at = (q) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] : null);
  console.log(JSON.stringify({ delivered: latencies.length, p50_ms: at(0.5), p99_ms: at(0.99) }));
  for (const ws of sockets) ws.terminate();
  process.exit(0);
}

(async () => {
  for (let started = 0; started < count; started += 250) {
    const batch = Array.from({ length: Math.min(250, count - started) }, (_, i) => started + i);
    await Promise.all(batch.map((index) => connect(ports[index % ports.length])));
  }
  console.log(JSON.stringify({ event: "ready" }));
  readline.createInterface({ input: process.stdin }).on("line", (line) => {
    const [command, expected] = line.split(" ");
    if (command === "report") report(Number(expected));
  });
})();
