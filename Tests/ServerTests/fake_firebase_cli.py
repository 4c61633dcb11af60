"""A stand-in for the Firebase CLI's `firebase emulators:start`, for the one test of the local runtime's emulator
path (the real CLI and its Java emulators cannot be installed where the tests run). It holds tfctl to the CLI's
documented contract, and refuses anything else with exit status 2:

- the command line `emulators:start --only auth,database --project demo-<id> --config <file>`;
- `firebase.json` as the Emulator Suite reads it (https://firebase.google.com/docs/emulator-suite/install_and_configure):
  `emulators.<name>.host`/`port` for auth, database, hub and logging, `emulators.ui.enabled`, and the database's
  rules as `database: [{"instance", "rules"}]`, the rules file relative to `firebase.json`;
- "All emulators ready! It is now safe to connect your app." once both answer, as the CLI prints.

The database and the Auth emulator are two processes of tfctl's RTDB stand-in, on the two ports, as the real
emulators are two servers: each accepts the unsigned ID tokens the other issues, as the real emulators do."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path


def refuse(message):
    print(f"fake firebase: {message}", file=sys.stderr)
    sys.exit(2)


def main():
    stand_in, arguments = sys.argv[1], sys.argv[2:]
    if len(arguments) != 7 or arguments[:3] != ["emulators:start", "--only", "auth,database"] \
            or arguments[3] != "--project" or not arguments[4].startswith("demo-") or arguments[5] != "--config":
        refuse(f"unexpected command line {arguments}")
    config_path = Path(arguments[6])
    config = json.loads(config_path.read_text())
    emulators = config.get("emulators", {})
    ports = {}
    for name in ("auth", "database", "hub", "logging"):
        endpoint = emulators.get(name, {})
        if endpoint.get("host") != "127.0.0.1" or not isinstance(endpoint.get("port"), int):
            refuse(f"emulators.{name} needs host 127.0.0.1 and a port: {endpoint}")
        ports[name] = endpoint["port"]
    if len(set(ports.values())) != len(ports):
        refuse(f"two emulators on one port: {ports}")
    if emulators.get("ui") != {"enabled": False}:
        refuse("the emulator UI should be off")
    (database,) = config.get("database", [{}])
    if set(database) != {"instance", "rules"}:
        refuse(f"database: expected [{{instance, rules}}], got {config.get('database')}")
    rules = config_path.parent / database["rules"]
    json.loads(rules.read_text())
    if not os.environ.get("PATH") or not os.environ.get("HOME"):
        refuse("the CLI needs PATH (node, java) and HOME (its downloaded emulators)")

    project = arguments[4]
    children = [subprocess.Popen([sys.executable, stand_in, "--port", str(ports[name]), "--namespace",
                                  database["instance"], "--rules", str(rules), "--project", project],
                                 stdout=subprocess.PIPE, text=True)
                for name in ("database", "auth")]
    for child in children:
        while "listening" not in (child.stdout.readline() or "listening"):
            pass
        # What the stand-ins log afterwards goes to this process's log, as the CLI forwards its emulators' logs.
        threading.Thread(target=lambda stream=child.stdout: [print(line, end="", flush=True) for line in stream],
                         daemon=True).start()
    print("All emulators ready! It is now safe to connect your app.", flush=True)

    def stop(*_):
        for child in children:
            child.terminate()
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while all(child.poll() is None for child in children):
        time.sleep(0.2)
    stop()


if __name__ == "__main__":
    main()
