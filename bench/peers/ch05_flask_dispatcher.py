#!/usr/bin/env python3
"""Chapter 05's Python original, as a user runs it: a Flask dispatcher on a
SQLite file, which workers poll over HTTP.

This is the design of the Flask + SQLite queue the chapter starts from: Flask's
own (threaded) server, a fresh sqlite3 connection per request, and the queue's
two transactions — claim and submit-result — each one BEGIN IMMEDIATE, with the
same SQL as the Rust Store (imported from ch05_sqlite_queue.py, so the two
Python peers can never drift apart). The bench prepares the database file, with
its tasks queued, before it starts this server.

  POST /heartbeat      {"worker_id", "capabilities"?}  registers / renews
  POST /get-task       {"worker_id"}                   200 a lease | 204 none | 404 unknown
  POST /submit-result  {"task_id", "lease_token", "status", "result"}  200 | 409 stale
  GET  /health                                         200

    ch05_flask_dispatcher.py DB_FILE PORT LEASE_MS

It prints one line, {"listening": "http://127.0.0.1:PORT"}, once it serves.
"""
import json
import logging
import sqlite3
import sys
import time

from flask import Flask, g, jsonify, request

import ch05_sqlite_queue as queue

app = Flask(__name__)
DB_FILE = ""
LEASE_MS = 120_000


def get_db():
    """One connection per request, as a Flask app keeps it in `g`."""
    if "db" not in g:
        db = sqlite3.connect(DB_FILE, isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA busy_timeout = 5000")
        g.db = db
    return g.db


@app.teardown_appcontext
def close_db(_error):
    db = g.pop("db", None)
    if db is not None:
        db.close()


@app.post("/heartbeat")
def heartbeat():
    body = request.get_json()
    now = int(time.time() * 1000)
    db = get_db()
    capabilities = body.get("capabilities")
    if capabilities is not None:
        db.execute(
            "INSERT INTO workers (id, capabilities, last_heartbeat, alive, registered_at)"
            " VALUES (?1, ?2, ?3, 1, ?3) ON CONFLICT (id) DO UPDATE"
            " SET capabilities = ?2, last_heartbeat = ?3, alive = 1",
            (body["worker_id"], json.dumps(capabilities), now),
        )
    else:
        db.execute("UPDATE workers SET last_heartbeat = ?2, alive = 1 WHERE id = ?1",
                   (body["worker_id"], now))
    return jsonify({"status": "ok"})


@app.post("/get-task")
def get_task():
    body = request.get_json()
    try:
        lease = queue.claim(get_db(), body["worker_id"], LEASE_MS)
    except LookupError as error:
        return jsonify({"error": str(error)}), 404
    if lease is None:
        return "", 204
    return jsonify(lease)


@app.post("/submit-result")
def submit_result():
    body = request.get_json()
    try:
        queue.complete(get_db(), body["task_id"], body["lease_token"], body.get("result"))
    except LookupError as error:
        return jsonify({"error": str(error)}), 409
    return jsonify({"status": "ok"})


@app.get("/health")
def health():
    return jsonify({"status": "ok"})


def main():
    global DB_FILE, LEASE_MS
    DB_FILE, port, LEASE_MS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    # The original logs every request; the bench reads only the figures.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    print(json.dumps({"listening": f"http://127.0.0.1:{port}"}), flush=True)
    app.run(host="127.0.0.1", port=port, threaded=True)


if __name__ == "__main__":
    main()
