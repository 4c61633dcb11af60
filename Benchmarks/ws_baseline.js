// The comparison server of `make bench`: Node's `ws` (Debian's node-ws) broadcasting a plain JSON message to
// every connected client, the usual `wss.clients.forEach(c => c.send(data))` pattern. POST /publish takes the
// message; it is serialized once and sent to each client.
const http = require("http");
const { WebSocketServer } = require(process.env.NODE_WS_PATH || "ws");

const server = http.createServer((request, response) => {
  if (request.method !== "POST" || request.url !== "/publish") {
    response.writeHead(404).end();
    return;
  }
  let body = "";
  request.on("data", (chunk) => (body += chunk));
  request.on("end", () => {
    const data = JSON.stringify(JSON.parse(body));
    let delivered = 0;
    for (const client of wss.clients) {
      client.send(data);
      delivered += 1;
    }
    response.writeHead(202, { "content-type": "application/json" }).end(JSON.stringify({ delivered }));
  });
});
const wss = new WebSocketServer({ server, perMessageDeflate: false });
server.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ event: "listening", port: server.address().port }));
});
