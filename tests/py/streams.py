"""kith's change log through redis-py's own stream API, unchanged.

Run by tests/streams.rs: `python3 tests/py/streams.py STEP PORT`. Each step
exits 0 when everything it checks holds, and prints what failed otherwise.
"""
import json
import sys
import threading
import time

import redis

STREAM = "kith:changes"


def client(port):
    return redis.Redis(host="127.0.0.1", port=port, decode_responses=True)


def person(r, name):
    return int(r.execute_command("ENTITY.CREATE", "person", '{"attrs":{"given_name":"%s"}}' % name))


def wake(port):
    """XREAD BLOCK wakes on a write, within the freshness the feed promises."""
    r = client(port)
    got = {}

    def reader():
        t0 = time.time()
        got["reply"] = client(port).xread({STREAM: "$"}, block=5000, count=10)
        got["waited"] = time.time() - t0

    t = threading.Thread(target=reader)
    t.start()
    time.sleep(0.3)
    pid = person(r, "Wake")
    committed = time.time()
    t.join()
    reply = got["reply"]
    assert reply, "XREAD BLOCK returned nothing"
    [(key, entries)] = reply
    assert key == STREAM, key
    first_id, fields = entries[0]
    assert fields["type"] == "entity.created", fields
    assert int(fields["id"]) == pid, fields
    assert time.time() - committed < 1.0, "woke late"
    # Ids are <ms>-<seq> and never go backwards.
    ids = [e[0] for e in r.xrange(STREAM, "-", "+")]
    parsed = [tuple(int(p) for p in i.split("-")) for i in ids]
    assert parsed == sorted(parsed), ids
    assert r.xlen(STREAM) == len(ids)
    info = r.xinfo_stream(STREAM)
    assert info["length"] == len(ids), info
    # A write to the stream is refused with a clear error.
    try:
        r.xadd(STREAM, {"a": "b"})
        raise AssertionError("XADD was accepted")
    except redis.ResponseError as e:
        assert "read-only" in str(e), e


def group_before(port):
    """A group reads without acknowledging; the server is then restarted."""
    r = client(port)
    r.xgroup_create(STREAM, "g", id="0")
    for i in range(5):
        person(r, "G%d" % i)
    got = r.xreadgroup("g", "c1", {STREAM: ">"}, count=1000)
    [(_, entries)] = got
    assert len(entries) >= 10, entries
    # Acknowledge the first half only.
    half = [e[0] for e in entries[: len(entries) // 2]]
    assert r.xack(STREAM, "g", *half) == len(half)
    print(len(entries) - len(half))


def group_after(port, unacked):
    """After the restart every unacknowledged change is delivered again."""
    r = client(port)
    pending = r.xpending(STREAM, "g")
    assert pending["pending"] == unacked, pending
    again = r.xreadgroup("g", "c1", {STREAM: "0"}, count=1000)
    [(_, entries)] = again
    assert len(entries) == unacked, (len(entries), unacked)
    assert r.xack(STREAM, "g", *[e[0] for e in entries]) == unacked
    assert r.xpending(STREAM, "g")["pending"] == 0
    # New changes reach the group after the restart too.
    person(r, "After")
    new = r.xreadgroup("g", "c1", {STREAM: ">"}, count=1000)
    assert new and new[0][1], new


def claim(port):
    """A killed consumer's pending changes are claimed by another."""
    r = client(port)
    r.xgroup_create(STREAM, "workers", id="$")
    person(r, "Claim")
    victim = client(port)
    got = victim.xreadgroup("workers", "dies", {STREAM: ">"}, count=100)
    ids = [e[0] for e in got[0][1]]
    assert ids, got
    victim.connection_pool.disconnect()  # the consumer is gone, its work pending
    time.sleep(0.05)
    reply = r.xautoclaim(STREAM, "workers", "survivor", min_idle_time=10, start_id="0-0")
    claimed = reply[1]
    assert [e[0] for e in claimed] == ids, (claimed, ids)
    summary = r.xpending_range(STREAM, "workers", "-", "+", 100)
    assert {p["consumer"] for p in summary} == {"survivor"}, summary
    # XCLAIM back by id works too.
    again = r.xclaim(STREAM, "workers", "third", 0, ids)
    assert [e[0] for e in again] == ids, again
    assert r.xack(STREAM, "workers", *ids) == len(ids)
    # Redis's own error words for a group that does not exist.
    try:
        r.xreadgroup("nosuch", "c", {STREAM: ">"})
        raise AssertionError("unknown group accepted")
    except redis.ResponseError as e:
        assert str(e).startswith("No such key") or "NOGROUP" in str(e), e


RULE = """on = ["interaction.added"]
when = 'event.after.interaction_type == "withdrawal" && event.after.amount > 10000.0'
priority = 5
message = "Have their banker call today"
[[actions]]
type = "set"
attribute = "next_best_action"
value = "banker_call"
"""


def actions(port):
    """A banker's application: a rule set over the wire, its actions read
    from kith:actions with a consumer group and XREAD BLOCK."""
    r = client(port)
    assert r.execute_command("RULE.SET", "big-withdrawal", RULE) == "OK"
    try:
        r.execute_command("RULE.SET", "broken", 'on = ["interaction.added"]\nwhen = "customer.tierr == 1"')
        raise AssertionError("a broken rule was accepted")
    except redis.ResponseError as e:
        assert "tierr" in str(e) and "tier" in str(e), e
    r.xgroup_create("kith:actions", "bankers", id="$")
    pid = person(r, "Ann")
    got = {}

    def app():
        got["reply"] = client(port).xreadgroup("bankers", "app-1", {"kith:actions": ">"}, block=5000)

    t = threading.Thread(target=app)
    t.start()
    time.sleep(0.2)
    r.execute_command("INTERACTION.ADD", pid, '{"attrs":{"interaction_type":"deposit","amount":{"$decimal":"50000"}}}')
    r.execute_command("INTERACTION.ADD", pid, '{"attrs":{"interaction_type":"withdrawal","amount":{"$decimal":"12500.00"}}}')
    t.join()
    [(key, entries)] = got["reply"]
    assert key == "kith:actions", key
    assert len(entries) == 1, entries
    aid, fields = entries[0]
    assert fields["type"] == "action", fields
    assert fields["rule"] == "big-withdrawal", fields
    assert int(fields["customer"]) == pid, fields
    assert json.loads(fields["fields"])["message"] == "Have their banker call today", fields
    assert json.loads(fields["why"])["event.after.amount"] == "12500", fields
    assert r.xack("kith:actions", "bankers", aid) == 1
    assert r.xlen("kith:actions") == 1
    assert [e[0] for e in r.xrange("kith:actions", "-", "+")] == [aid]
    stats = json.loads(r.execute_command("RULE.STATS"))
    [rule] = stats["rules"]
    assert rule["fires"] == 1 and rule["evaluations"] == 2, stats
    listed = json.loads(r.execute_command("RULE.LIST"))
    assert [x["name"] for x in listed] == ["big-withdrawal"], listed
    info = r.info("rules")
    assert info["rules"] == 1 and info["rules_running"] == 1 and info["rules_actions"] == 1, info
    assert r.execute_command("RULE.DEL", "big-withdrawal") == 1
    assert r.execute_command("RULE.DEL", "big-withdrawal") == 0
    assert json.loads(r.execute_command("RULE.LIST")) == []


if __name__ == "__main__":
    step, port = sys.argv[1], int(sys.argv[2])
    try:
        if step == "wake":
            wake(port)
        elif step == "group-before":
            group_before(port)
        elif step == "group-after":
            group_after(port, int(sys.argv[3]))
        elif step == "claim":
            claim(port)
        elif step == "actions":
            actions(port)
        else:
            raise SystemExit("unknown step " + step)
    except AssertionError as e:
        print("FAILED:", e)
        raise
