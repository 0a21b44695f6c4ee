#!/usr/bin/env python3
"""Chapter 05's Python peer: the original queue's claim and submit-result, on
the standard library's sqlite3.

It runs the same two transactions as the Rust Store, statement for statement,
on a database file the Rust bench prepared with the same schema and tasks:

  claim:    BEGIN IMMEDIATE; is the worker registered; fail the expired tasks
            out of attempts; the next expired or queued task the worker can
            run; lease it (fresh token, attempts + 1) RETURNING it; COMMIT
  complete: BEGIN IMMEDIATE; read status and token; check the token; write
            the result; COMMIT

    ch05_sqlite_queue.py DB_FILE WORKER_ID LEASE_MS

Claims and completes until nothing is left, and prints one JSON line:
{"seconds": <wall time of the loop>, "tasks": <tasks completed>}.
"""
import json
import sqlite3
import sys
import time

CAN_RUN = """kind IN (SELECT value FROM json_each((SELECT capabilities FROM workers WHERE id = ?1)))
         AND attempts < max_attempts"""
NEXT_EXPIRED = ("SELECT id FROM tasks WHERE status = 'RUNNING' AND lease_expires_at <= ?2 AND "
                + CAN_RUN + " ORDER BY id LIMIT 1")
NEXT_QUEUED = "SELECT id FROM tasks WHERE status = 'QUEUED' AND " + CAN_RUN + " ORDER BY id LIMIT 1"
LEASE = """UPDATE tasks
    SET status = 'RUNNING', lease_owner = ?2, lease_expires_at = ?3,
        lease_token = lower(hex(randomblob(8))), attempts = attempts + 1, updated_at = ?4
    WHERE id = ?1
    RETURNING id, kind, args, lease_token, attempts, max_attempts"""
EXHAUSTED = """SELECT id, attempts FROM tasks
    WHERE status = 'RUNNING' AND lease_expires_at <= ?1 AND attempts >= max_attempts"""


def now_ms():
    return int(time.time() * 1000)


def claim(db, worker, lease_ms):
    now = now_ms()
    db.execute("BEGIN IMMEDIATE")
    try:
        if db.execute("SELECT 1 FROM workers WHERE id = ?1", (worker,)).fetchone() is None:
            raise LookupError(f"unknown worker {worker}")
        for task_id, attempts in db.execute(EXHAUSTED, (now,)).fetchall():
            error = json.dumps({"status": "FAILED", "error_type": "WorkerFailureError",
                                "message": f"gave up after {attempts} attempts",
                                "task_id": str(task_id)})
            db.execute("UPDATE tasks SET status = 'FAILED', error = ?2, lease_expires_at = NULL,"
                       " updated_at = ?3 WHERE id = ?1", (task_id, error, now))
        row = db.execute(NEXT_EXPIRED, (worker, now)).fetchone()
        if row is None:
            row = db.execute(NEXT_QUEUED, (worker,)).fetchone()
        if row is None:
            db.execute("COMMIT")
            return None
        leased = db.execute(LEASE, (row[0], worker, now + lease_ms, now)).fetchone()
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    task_id, kind, args, token, attempt, max_attempts = leased
    return {"task_id": task_id, "kind": kind, "args": json.loads(args), "lease_token": token,
            "attempt": attempt, "max_attempts": max_attempts}


def complete(db, task_id, token, result):
    db.execute("BEGIN IMMEDIATE")
    try:
        row = db.execute("SELECT status, lease_token, result, error FROM tasks WHERE id = ?1",
                         (task_id,)).fetchone()
        if row is None or row[1] != token:
            raise LookupError(f"stale or unknown lease for task {task_id}")
        db.execute("UPDATE tasks SET status = ?2, result = ?3, error = ?4, lease_expires_at = NULL,"
                   " updated_at = ?5 WHERE id = ?1",
                   (task_id, "COMPLETED", json.dumps(result), None, now_ms()))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def main():
    path, worker, lease_ms = sys.argv[1], sys.argv[2], int(sys.argv[3])
    # Autocommit mode: the transactions are ours, as in the Rust store.
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA busy_timeout = 5000")
    done = 0
    start = time.perf_counter()
    while (lease := claim(db, worker, lease_ms)) is not None:
        args = lease["args"]
        complete(db, lease["task_id"], lease["lease_token"], args["a"] + args["b"])
        done += 1
    seconds = time.perf_counter() - start
    db.close()
    print(json.dumps({"seconds": seconds, "tasks": done}))


if __name__ == "__main__":
    main()
