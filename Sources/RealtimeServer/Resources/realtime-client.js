// tfctl's reference real-time client, served by the bundled server at /fallback/v1/client.js: one dependency-free
// ES module around the official socket.io-client v4 (passed in as `io`, or the page's global `io`). It follows
// tenders over Socket.IO (connection state recovery included) and, when the socket cannot connect or stays away,
// switches by itself to the Firebase Realtime Database the server mirrors to, over REST streaming (EventSource),
// and back when the socket returns. The app sees one stream of events, each once, and a mode to show.
//
//   import { connect } from "https://realtime.example.com/fallback/v1/client.js";
//   const client = connect({ url: "https://realtime.example.com", token, tenders: ["42"], apiKey,
//                            onEvent: (name, data) => ..., onMode: (mode) => ... });
//
// Modes: "connecting", "socket", "fallback" (reading the database), "offline" (the browser says it is).
// Every mirrored event carries `eventId` (README, "The Firebase fallback"); an id delivered once is not delivered
// again, whichever channel brings it. Events older than `windowMs` are not delivered from the database.

const SIGN_IN = "/v1/accounts:signInWithCustomToken";

export function connect(options) {
  return new RealtimeClient(options);
}

export class RealtimeClient {
  constructor({
    url, token, tenders = [], onEvent = () => {}, onMode = () => {}, io = globalThis.io, apiKey = "",
    tokenURL = new URL("/fallback/v1/token", url).href, fallbackAfterMs = 4000, overlapMs = 3000,
    windowMs = 120000, EventSourceClass = globalThis.EventSource, fetchFunction = globalThis.fetch,
  }) {
    Object.assign(this, { url, token, onEvent, onMode, apiKey, tokenURL, fallbackAfterMs, overlapMs, windowMs });
    this.tenders = new Set(tenders);
    this.EventSourceClass = EventSourceClass;
    this.fetch = fetchFunction.bind(globalThis);
    this.seen = new Map(); // event id -> milliseconds, pruned past the window
    this.sources = [];
    this.mode = "";
    this.setMode("connecting");
    // Two namespaces on one connection (socket.io-client multiplexes them).
    const settings = { auth: { token }, reconnectionDelay: 1000, reconnectionDelayMax: 10000 };
    this.socket = io(new URL("/tenders", url).href, settings);
    this.notices = io(new URL("/system", url).href, settings);
    this.socket.on("connect", () => this.socketConnected());
    this.socket.on("disconnect", () => this.socketLost());
    this.socket.on("connect_error", () => this.socketLost());
    this.socket.onAny((name, ...args) => this.fromSocket(name, args));
    this.notices.onAny((name, ...args) => this.fromSocket(name, args));
    this.armFallback();
    this.online = () => this.armFallback(0);
    this.offline = () => { this.stopFallback(); this.setMode("offline"); };
    globalThis.addEventListener?.("online", this.online);
    globalThis.addEventListener?.("offline", this.offline);
  }

  setMode(mode) {
    if (mode === this.mode) return;
    this.mode = mode;
    this.onMode(mode);
  }

  /// Follows one more tender, on whichever channel is up.
  async subscribe(tender) {
    this.tenders.add(tender);
    if (this.socket.connected) await this.socket.emitWithAck("subscribe", { tenderId: tender });
    if (this.database) this.listen(`tenders/${tender}/events`);
  }

  /// Sends an event on `/tenders` and answers its acknowledgement (null without one, or while the socket is
  /// away: the database is read-only for clients). `{ ack: false }` sends without waiting, as for typing.
  async emit(name, data, { ack = true } = {}) {
    if (!this.socket.connected) return null;
    if (!ack) return void this.socket.emit(name, data);
    try {
      return await this.socket.timeout(5000).emitWithAck(name, data);
    } catch {
      return null;
    }
  }

  close() {
    clearTimeout(this.fallbackTimer);
    this.stopFallback();
    this.socket.disconnect();
    this.notices.disconnect();
    globalThis.removeEventListener?.("online", this.online);
    globalThis.removeEventListener?.("offline", this.offline);
  }

  // MARK: The socket

  async socketConnected() {
    clearTimeout(this.fallbackTimer);
    // A recovered socket is back in its rooms, with what it missed; a new one subscribes again.
    if (!this.socket.recovered) {
      for (const tender of this.tenders) await this.socket.emitWithAck("subscribe", { tenderId: tender });
    }
    if (this.database) {
      // Both channels for a moment: what was in flight on either arrives once.
      setTimeout(() => { if (this.socket.connected) { this.stopFallback(); this.setMode("socket"); } },
        this.overlapMs);
    } else {
      this.setMode("socket");
    }
  }

  socketLost() {
    if (this.mode === "socket") this.setMode("connecting");
    this.armFallback();
  }

  /// Starts the fallback if the socket is not up within `delay` (the socket keeps trying meanwhile).
  armFallback(delay = this.fallbackAfterMs) {
    clearTimeout(this.fallbackTimer);
    this.fallbackTimer = setTimeout(() => {
      if (this.socket.connected || this.database) return;
      if (globalThis.navigator?.onLine === false) return this.setMode("offline");
      this.startFallback().catch(() => this.armFallback());
    }, delay);
  }

  fromSocket(name, args) {
    const data = args[0];
    if (data && typeof data === "object" && typeof data.eventId === "string" && !this.accept(data.eventId)) return;
    this.onEvent(name, data);
  }

  // MARK: The database

  async startFallback() {
    const answer = await this.fetch(this.tokenURL, { method: "POST", headers: { Authorization: `Bearer ${this.token}` } });
    if (!answer.ok) throw new Error(`fallback token: HTTP ${answer.status}`);
    const grant = await answer.json();
    // An emulator (or tfctl's stand-in) serves both the sign-in and the database at its host.
    const auth = grant.emulatorHost ? `http://${grant.emulatorHost}/identitytoolkit.googleapis.com`
      : "https://identitytoolkit.googleapis.com";
    const signIn = await this.fetch(`${auth}${SIGN_IN}?key=${encodeURIComponent(this.apiKey || "local")}`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: grant.token, returnSecureToken: true }),
    });
    if (!signIn.ok) throw new Error(`sign-in: HTTP ${signIn.status}`);
    const { idToken } = await signIn.json();
    if (this.socket.connected) return; // it came back meanwhile
    const name = new URL(grant.databaseURL).hostname.split(".")[0];
    this.database = grant.emulatorHost
      ? { base: `http://${grant.emulatorHost}`, query: `ns=${name}&auth=${idToken}` }
      : { base: grant.databaseURL, query: `auth=${idToken}` };
    for (const tender of this.tenders) this.listen(`tenders/${tender}/events`);
    this.listen("system/notices");
    this.setMode("fallback");
  }

  listen(path) {
    const source = new this.EventSourceClass(`${this.database.base}/${path}.json?${this.database.query}`);
    const receive = (message) => this.fromDatabase(JSON.parse(message.data));
    source.addEventListener("put", receive);
    source.addEventListener("patch", receive);
    // The rules refused, or the token ended: stop, and let the socket or the next fallback try again.
    source.addEventListener("cancel", () => this.stopFallback());
    source.addEventListener("auth_revoked", () => { this.stopFallback(); this.armFallback(0); });
    this.sources.push(source);
  }

  stopFallback() {
    for (const source of this.sources) source.close();
    this.sources = [];
    this.database = null;
  }

  /// A `put` or `patch` of the events under a listened path: the whole list at "/" (first), one event at
  /// "/<id>", or several under their parent; delivered in key order, which is time order.
  fromDatabase({ path, data }) {
    let records = [];
    if (path === "/") records = Object.entries(data ?? {});
    else if (data && typeof data === "object" && "args" in data) records = [[path.slice(1), data]];
    else records = Object.entries(data ?? {});
    records.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const oldest = Date.now() - this.windowMs;
    for (const [id, record] of records) {
      if (!record || typeof record.args !== "string" || record.time < oldest || !this.accept(id)) continue;
      const [first] = JSON.parse(record.args);
      this.onEvent(record.event, first);
    }
  }

  /// Whether `id` is new: it is remembered for the window, then forgotten.
  accept(id) {
    if (this.seen.has(id)) return false;
    const now = Date.now();
    this.seen.set(id, now);
    if (this.seen.size % 256 === 0) {
      for (const [known, at] of this.seen) if (at < now - 2 * this.windowMs) this.seen.delete(known);
    }
    return true;
  }
}
