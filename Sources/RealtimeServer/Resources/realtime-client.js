// tfctl's reference real-time client, served by the bundled server at /fallback/v1/client.js: one dependency-free
// ES module around the official socket.io-client v4 (passed in as `io`, or the page's global `io`). It follows
// tenders over Socket.IO (connection state recovery included) and, when the socket cannot connect or stays away,
// switches by itself to the Firebase Realtime Database the server mirrors to, over REST streaming (EventSource),
// and back when the socket returns. The app sees one stream of events, each once, and a mode to show.
//
//   import { connect } from "https://realtime.example.com/fallback/v1/client.js";
//   const client = connect({ url: "https://realtime.example.com", token, tenders: ["42"],
//                            onEvent: (name, data) => ..., onMode: (mode) => ... });
//
// `token` is the socket's token, or a function answering one (a promise too), asked again at every connection.
// `onSubscribed(tender, answer)` gets each subscription's answer: the tender's presence, edit leases and jobs now;
// while the database is read, presence as the mirror last wrote it (`source: "database"`), again at each change.
// Modes: "connecting", "socket", "fallback" (reading the database), "offline" (the browser says it is), "refused"
// (the server refuses the token; a fixed token is not tried again). Every mirrored event carries `eventId`
// (README, "The Firebase fallback"); an id delivered once is not delivered again, whichever channel brings it.
// When the socket returns while the database is read, both run for `overlapMs`: the socket's mirrored events are
// held meanwhile, while the database brings what the mirror wrote before, then delivered in id order.
// Events older than `windowMs` (by the server's clock) are not delivered from the database.
// `apiKey` (the browser key Firebase Auth signs in with) comes with the fallback token; pass one to override it.

const SIGN_IN = "/v1/accounts:signInWithCustomToken";
const HOUR = 3600 * 1000;

export function connect(options) {
  return new RealtimeClient(options);
}

export class RealtimeClient {
  constructor({
    url, token, tenders = [], onEvent = () => {}, onMode = () => {}, onSubscribed = () => {}, io = globalThis.io,
    apiKey = "",
    tokenURL = new URL("/fallback/v1/token", url).href, fallbackAfterMs = 4000, overlapMs = 3000,
    windowMs = 120000, EventSourceClass = globalThis.EventSource, fetchFunction = globalThis.fetch,
  }) {
    Object.assign(this, { url, onEvent, onMode, onSubscribed, apiKey, tokenURL, fallbackAfterMs, overlapMs, windowMs });
    this.token = typeof token === "function" ? token : () => token;
    this.renewable = typeof token === "function";
    this.tenders = new Set(tenders);
    this.watchedUsers = new Set();
    this.EventSourceClass = EventSourceClass;
    this.fetch = fetchFunction.bind(globalThis);
    this.seen = new Map(); // event id -> server milliseconds, forgotten after twice the window
    this.sources = new Map(); // path -> EventSource
    this.attempts = 0; // fallback attempts in a row that failed: the backoff's exponent
    this.clockOffset = 0; // the server's clock minus this one, from the last token
    this.mode = "";
    this.setMode("connecting");
    // Two namespaces on one connection (socket.io-client multiplexes them); the token is asked at each connect.
    const settings = {
      auth: (reply) => Promise.resolve(this.token()).then((value) => reply({ token: value })),
      reconnectionDelay: 1000, reconnectionDelayMax: 10000,
    };
    this.socket = io(new URL("/tenders", url).href, settings);
    this.notices = io(new URL("/system", url).href, settings);
    this.socket.on("connect", () => this.socketConnected());
    this.socket.on("disconnect", () => this.socketLost());
    this.socket.on("connect_error", () => this.socketRefusedOrLost());
    this.socket.onAny((name, ...args) => this.fromSocket(name, args));
    this.notices.onAny((name, ...args) => this.fromSocket(name, args));
    this.armFallback();
    this.online = () => (this.socket.connected ? this.setMode("socket") : this.armFallback());
    this.offline = () => { if (!this.socket.connected) { this.stopFallback(); this.setMode("offline"); } };
    globalThis.addEventListener?.("online", this.online);
    globalThis.addEventListener?.("offline", this.offline);
  }

  setMode(mode) {
    if (mode === this.mode || this.closed) return;
    this.mode = mode;
    this.onMode(mode);
  }

  /// The server's time now, as far as the last token said.
  now() {
    return Date.now() + this.clockOffset;
  }

  /// Follows one more tender, on whichever channel is up.
  async subscribe(tender) {
    if (this.tenders.has(tender)) return;
    this.tenders.add(tender);
    if (this.database) this.followInDatabase(tender);
    if (this.socket.connected) await this.subscribeOnSocket(tender);
  }

  /// Subscribes on the socket; the answer's current state (presence, edit leases, jobs) goes to `onSubscribed`.
  async subscribeOnSocket(tender) {
    const answer = await this.emit("subscribe", { tenderId: tender });
    if (answer?.ok) this.onSubscribed(tender, answer);
  }

  /// Follows users' online status: `status:online` / `status:offline` reach `onEvent`. Status changes are not
  /// replayed after a disconnection, so every connection asks for the current states again, reported the same way.
  async watchStatus(users) {
    for (const user of users) this.watchedUsers.add(user);
    if (this.socket.connected) await this.askStatus([...users]);
  }

  async askStatus(users) {
    for (let start = 0; start < users.length; start += 50) {
      const answer = await this.emit("status:watch", { users: users.slice(start, start + 50) });
      for (const state of answer?.statuses ?? []) {
        this.onEvent(state.online ? "status:online" : "status:offline", state);
      }
    }
  }

  /// Sends an event on `/tenders` and answers its acknowledgement (null without one, or while the socket is
  /// away: the database is read-only for clients). `{ ack: false }` sends without waiting, as for typing.
  async emit(name, data, { ack = true } = {}) {
    if (!this.socket.connected) return null;
    if (!ack) {
      this.socket.emit(name, data);
      return null;
    }
    try {
      return await this.socket.timeout(5000).emitWithAck(name, data);
    } catch {
      return null;
    }
  }

  /// Stops everything: no event, no mode, no request after this.
  close() {
    this.closed = true;
    clearTimeout(this.fallbackTimer);
    clearTimeout(this.grantTimer);
    clearTimeout(this.overlapTimer);
    for (const socket of [this.socket, this.notices]) {
      socket.offAny();
      socket.off();
      socket.disconnect();
    }
    this.stopFallback();
    globalThis.removeEventListener?.("online", this.online);
    globalThis.removeEventListener?.("offline", this.offline);
  }

  // MARK: The socket

  async socketConnected() {
    this.disarmFallback();
    clearTimeout(this.overlapTimer); // an earlier connection's overlap: this one's starts when it has subscribed
    const overlapping = Boolean(this.database || this.starting);
    if (overlapping) this.holding ??= [];
    this.prefetchGrant();
    // A recovered socket is back in its rooms, with what it missed; a new one subscribes again.
    if (!this.socket.recovered) {
      for (const tender of this.tenders) await this.subscribeOnSocket(tender);
    }
    await this.askStatus([...this.watchedUsers]);
    if (overlapping) {
      // Both channels for a moment: what was in flight on either arrives once, and in order (releaseHeld).
      this.overlapTimer = setTimeout(() => {
        this.overlapTimer = null;
        if (this.socket.connected) {
          this.stopFallback();
          this.setMode("socket");
        }
        this.releaseHeld();
      }, this.overlapMs);
    } else {
      this.setMode("socket");
    }
  }

  socketLost() {
    if (this.closed) return;
    // Gone during the overlap: what it brought is delivered now (the database goes on, and brings the rest).
    clearTimeout(this.overlapTimer);
    this.overlapTimer = null;
    if (this.holding) this.releaseHeld();
    if (this.mode === "socket") this.setMode("connecting");
    this.armFallback();
  }

  socketRefusedOrLost() {
    // `active` false: the server refused the connection (CONNECT_ERROR), and socket.io-client gives up on it.
    if (!this.socket.active && !this.closed) {
      if (!this.renewable) return this.setMode("refused");
      setTimeout(() => this.socket.connect(), 2000 + Math.random() * 2000); // a fresh token at the next try
    }
    this.socketLost();
  }

  /// Starts the fallback unless the socket is up within `delay`; one timer at a time, so the socket's own retries
  /// do not push it back. Failed attempts back off (doubling, with jitter, up to 60 s).
  armFallback(delay = this.fallbackAfterMs * 2 ** Math.min(this.attempts, 4)) {
    if (this.closed || this.fallbackTimer || this.database || this.starting) return;
    this.fallbackTimer = setTimeout(() => {
      this.fallbackTimer = null;
      if (this.socket.connected || this.database || this.closed) return;
      if (globalThis.navigator?.onLine === false) return this.setMode("offline");
      this.starting = this.startFallback()
        .then(() => { this.attempts = 0; })
        .catch((error) => {
          this.attempts += 1;
          this.stopFallback();
          console.warn("tfctl realtime: the fallback did not start:", error);
        })
        .finally(() => {
          this.starting = null;
          if (!this.socket.connected && !this.database) this.armFallback();
        });
    }, Math.min(delay, 60000) * (0.75 + Math.random() / 2));
  }

  disarmFallback() {
    clearTimeout(this.fallbackTimer);
    this.fallbackTimer = null;
  }

  fromSocket(name, args) {
    const data = args[0];
    const id = data && typeof data === "object" && typeof data.eventId === "string" ? data.eventId : null;
    if (id && this.holding) return void this.holding.push([id, name, data]);
    if (id && !this.accept(id)) return;
    this.onEvent(name, data);
  }

  /// The socket's events held while both channels ran, in id order (time, then each instance's sequence), each
  /// unless the database delivered it meanwhile.
  releaseHeld() {
    const held = this.holding ?? [];
    this.holding = null;
    held.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [id, name, data] of held) if (!this.closed && this.accept(id)) this.onEvent(name, data);
  }

  // MARK: The database

  /// The fallback's token, fetched while the socket is up (the servers may all be down when it is needed) and
  /// again ten minutes before it ends.
  prefetchGrant() {
    clearTimeout(this.grantTimer);
    const left = this.grant ? this.grant.expiresAt * 1000 - this.now() : 0;
    if (left > 600000) {
      this.grantTimer = setTimeout(() => this.prefetchGrant(), left - 600000);
      return;
    }
    this.requestGrant().then((grant) => {
      this.grant = grant;
      this.grantTimer = setTimeout(() => this.prefetchGrant(), Math.max(60000, grant.expiresAt * 1000 - this.now() - 600000));
    }).catch(() => {
      this.grantTimer = setTimeout(() => this.prefetchGrant(), 60000);
    });
  }

  async requestGrant() {
    const answer = await this.fetch(this.tokenURL, {
      method: "POST", headers: { Authorization: `Bearer ${await this.token()}` },
    });
    if (!answer.ok) throw new Error(`fallback token: HTTP ${answer.status}`);
    const grant = await answer.json();
    this.clockOffset = grant.expiresAt * 1000 - HOUR - Date.now();
    return grant;
  }

  async startFallback() {
    let grant = this.grant;
    if (!grant || grant.expiresAt * 1000 - this.now() < 60000) grant = this.grant = await this.requestGrant();
    // With an emulator, sign-in goes to the Auth emulator (`authEmulatorHost`), or to the database's host when
    // one process serves both (tfctl's stand-in).
    const authHost = grant.authEmulatorHost || grant.emulatorHost;
    const auth = authHost ? `http://${authHost}/identitytoolkit.googleapis.com` : "https://identitytoolkit.googleapis.com";
    const key = this.apiKey || grant.apiKey || (grant.emulatorHost ? "local" : "");
    if (!key) throw new Error("signing in to Firebase needs the project's web apiKey");
    const signIn = await this.fetch(`${auth}${SIGN_IN}?key=${encodeURIComponent(key)}`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: grant.token, returnSecureToken: true }),
    });
    if (!signIn.ok) {
      // A token or key refused (400 INVALID_CUSTOM_TOKEN, a key replaced or restricted: 400, 403): the next attempt
      // asks for a new grant. Not after 429 or 5xx: the servers may be the ones down, and the grant is good for
      // its hour.
      if ([400, 401, 403].includes(signIn.status)) this.grant = null;
      throw new Error(`sign-in: HTTP ${signIn.status}`);
    }
    const { idToken } = await signIn.json();
    if (this.socket.connected || this.closed) return; // it came back meanwhile
    const name = new URL(grant.databaseURL).hostname.split(".")[0];
    this.database = grant.emulatorHost
      ? { base: `http://${grant.emulatorHost}`, query: `ns=${name}&auth=${idToken}` }
      : { base: grant.databaseURL, query: `auth=${idToken}` };
    for (const tender of this.tenders) this.followInDatabase(tender);
    this.listen("system/notices");
    // The user's own notifications (their `user:<id>` room); the uid is already a database key, `%` escapes kept.
    if (grant.uid) this.listen(`users/${encodeURIComponent(grant.uid)}/events`);
    this.setMode("fallback");
  }

  /// A tender in the database: its events, and who is present as the mirror last wrote it, which goes to
  /// `onSubscribed` as a subscription's answer would (`source: "database"`, each entry with its `since`).
  followInDatabase(tender) {
    this.listen(`tenders/${tender}/events`);
    const present = {};
    this.listen(`presence/${tender}`, (text, type) => {
      if (!applyStreamEvent(present, type, text)) return;
      const presence = Object.entries(present)
        .filter(([, entry]) => entry && typeof entry.mode === "string")
        .map(([key, entry]) => ({ user: userOf(key), mode: entry.mode, since: entry.since }))
        .sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
      this.onSubscribed(tender, { ok: true, source: "database", presence });
    });
  }

  listen(path, receive = (text) => this.fromDatabase(text)) {
    if (this.sources.has(path)) return;
    const source = new this.EventSourceClass(`${this.database.base}/${path}.json?${this.database.query}`);
    const deliver = (message) => receive(message.data, message.type);
    source.addEventListener("put", deliver);
    source.addEventListener("patch", deliver);
    // A token that ended (the claims' hour, the ID token's) or a stream closed for good: start again, with a new
    // token, unless the socket is back by then.
    const restart = () => {
      if (this.database) {
        this.stopFallback();
        this.grant = null;
        if (!this.socket.connected) {
          this.setMode("connecting");
          this.armFallback();
        }
      }
    };
    // Refused by the rules (an error answer before the stream opened, or "cancel" later): this path only, not the
    // others (a tender followed after the token was made is not in its claims; the next fallback asks for a new
    // token, which names it if the socket token does). Nothing left to read: start again.
    let opened = false;
    const refused = () => {
      source.close();
      if (this.sources.get(path) === source) this.sources.delete(path);
      this.grant = null;
      console.warn(`tfctl realtime: the database refused ${path}`);
      if (this.sources.size === 0) restart();
    };
    source.addEventListener("open", () => { opened = true; });
    source.addEventListener("cancel", refused);
    source.addEventListener("auth_revoked", restart);
    source.addEventListener("error", () => { if (source.readyState === 2) (opened ? restart : refused)(); });
    this.sources.set(path, source);
  }

  stopFallback() {
    for (const source of this.sources.values()) source.close();
    this.sources.clear();
    this.database = null;
  }

  /// A `put` or `patch` of the events under a listened path: the whole list at "/" (first, and again after the
  /// stream reconnects), one event at "/<id>", or several under their parent; delivered in key order, which is
  /// time order.
  fromDatabase(text) {
    let path, data;
    try {
      ({ path, data } = JSON.parse(text));
    } catch {
      return;
    }
    let records;
    if (path === "/") records = Object.entries(data ?? {});
    else if (data && typeof data === "object" && "args" in data) records = [[path.slice(1), data]];
    else records = Object.entries(data ?? {});
    records.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const oldest = this.now() - this.windowMs;
    for (const [id, record] of records) {
      if (!record || typeof record.args !== "string" || record.time < oldest || !this.accept(id)) continue;
      try {
        const [first] = JSON.parse(record.args);
        this.onEvent(record.event, first);
      } catch (error) {
        console.warn("tfctl realtime: an event could not be delivered:", error);
      }
    }
  }

  /// Whether `id` is new: it is remembered for twice the window (by the server's clock), then forgotten.
  accept(id) {
    if (this.seen.has(id)) return false;
    const now = this.now();
    this.seen.set(id, now);
    if (this.seen.size % 256 === 0) {
      for (const [known, at] of this.seen) if (at < now - 2 * this.windowMs) this.seen.delete(known);
    }
    return true;
  }
}

/// The user id a database key stands for (`%XX` escapes undone); the key itself if it is not a valid escape.
function userOf(key) {
  try {
    return decodeURIComponent(key);
  } catch {
    return key;
  }
}

/// Applies one REST streaming event (`put` or `patch`, its data `{"path", "data"}`) to `tree`, the listened
/// location's value, as the database describes them: a `put` replaces the value at `path` (null removes it), a
/// `patch` sets each of its keys, themselves paths, under `path`. A node whose keys are all small integers comes
/// as an array (with nulls where keys are missing), which is read back as the object it is. Answers whether it
/// was such an event.
function applyStreamEvent(tree, type, text) {
  let path, data;
  try {
    ({ path, data } = JSON.parse(text));
  } catch {
    return false;
  }
  if (typeof path !== "string" || (type !== "put" && type !== "patch")) return false;
  const segments = (route) => route.split("/").filter(Boolean);
  const children = (value) => {
    if (Array.isArray(value)) return Object.fromEntries(value.flatMap((item, index) => (item === null ? [] : [[String(index), item]])));
    return value !== null && typeof value === "object" ? value : null;
  };
  const set = (keys, value) => {
    if (keys.length === 0) {
      for (const key of Object.keys(tree)) delete tree[key];
      Object.assign(tree, children(value) ?? {});
      return;
    }
    let node = tree;
    for (const key of keys.slice(0, -1)) {
      node[key] = children(node[key]) ?? {};
      node = node[key];
    }
    const last = keys[keys.length - 1];
    if (value === null) delete node[last];
    else node[last] = value;
  };
  if (type === "put") set(segments(path), data);
  else for (const [key, value] of Object.entries(children(data) ?? {})) set([...segments(path), ...segments(key)], value);
  return true;
}
