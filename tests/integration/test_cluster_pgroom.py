"""A registered room's state written late never replaces a newer one.

Two real parleyd nodes over a real redis-server share one throwaway
PostgreSQL; node A reaches it through a proxy (test_pgretry.CuttingProxy)
that can cut A's link. Each node saves a registered room as a whole
snapshot (src/store/pg_writer.c). While A's link is cut, what A saves is
held back and written when the link is back: a snapshot older than what
B saved meanwhile (B had heard A's change, and made its own). Each
snapshot carries the room's version (hub_room_stamp) and the database
keeps only a newer one; a drop leaves a mark at its version. Before, A's
late snapshot replaced B's (its topic, its ban gone), brought back a room
B had dropped, and A's late drop deleted the room B registered again;
and a node started afterwards read that back."""
import pytest

from cluster import redis, wait_for  # noqa: F401 (redis: a fixture)
from test_cluster_owners import account, chanserv, irc, login
from test_cluster_pg import db_of, pg_node, rows
from test_pgretry import CuttingProxy
from test_pgstore import wait_log


@pytest.fixture
def cut_a(redis, pg_cluster, pg_url, make_server):
    """(proxy, node A through it, node B), founder kim on A and kay (logged
    in as kim) on B, both in the registered room #r, B's kay an operator."""
    proxy = CuttingProxy(pg_cluster.port)
    try:
        a_node = pg_node(make_server, redis, proxy.url(db_of(pg_url)))
        b_node = pg_node(make_server, redis, pg_url)
        kim = account(a_node, "kim", "sesame-kim")
        kim.join("#r")
        assert chanserv(kim, "REGISTER #r") == "#r is registered to kim"
        kay = login(b_node, "kay", "kim", "sesame-kim")
        wait_for("B knows #r as registered",
                 lambda: chanserv(kay, "INFO #r").startswith("#r is registered to kim"))
        kay.join("#r")
        kim.expect(r":ChanServ!\S+ MODE #r \+o kay")
        yield proxy, a_node, b_node, kim, kay
    finally:
        proxy.close()


def topic_kept(pg, url):
    got = rows(pg, url, "SELECT topic FROM rooms WHERE key = '#r'")
    return got[0][0] if got else None


def founder_kept(pg, url):
    """The room's founder as kept ('' or None: not registered)."""
    got = rows(pg, url, "SELECT founder FROM rooms WHERE key = '#r'")
    return got[0][0] if got else None


def masks_kept(pg, url):
    return [r[0] for r in rows(pg, url, "SELECT mask FROM room_masks WHERE room = '#r'")]


def cut_and_change_on_a(proxy, a_node, kim, kay, line, echo):
    """A's link cut, then kim's line on A (heard on B): held back on A."""
    proxy.cut()
    kim.send(line)
    kay.expect(echo)
    wait_log(a_node, r"history: the database is away", timeout=30)


def restore(proxy, a_node):
    """A's link back, and what A held back written."""
    proxy.restore()
    wait_log(a_node, r"history: the database is back", timeout=30)


def restarted(nodes, make_server, redis, pg_url):
    """Every node stopped (the room emptied: Redis forgets it), then a new
    node started on the database: a client of it, once the node has read
    the registered rooms."""
    for n in nodes:
        assert n.stop() == 0
    c_node = pg_node(make_server, redis, pg_url)
    wait_log(c_node, r"rooms: \d+ registered rooms? restored|loaded the shared state")
    return irc(c_node, "x")


def test_a_room_saved_late_does_not_replace_what_another_node_saved_after(
        cut_a, pg_cluster, pg_url, redis, make_server):
    proxy, a_node, b_node, kim, kay = cut_a
    cut_and_change_on_a(proxy, a_node, kim, kay, "TOPIC #r :from A, while cut",
                        r" TOPIC #r :from A, while cut")
    # B has heard A's topic, and changes the room: saved at once.
    kay.send("TOPIC #r :from B, after")
    kay.send("MODE #r +b bad!*@*")
    kay.expect(r" MODE #r \+b bad!\*@\*")
    wait_for("B's save is kept", lambda: topic_kept(pg_cluster, pg_url) == "from B, after" and
             masks_kept(pg_cluster, pg_url) == ["bad!*@*"])
    restore(proxy, a_node)
    assert topic_kept(pg_cluster, pg_url) == "from B, after"
    assert masks_kept(pg_cluster, pg_url) == ["bad!*@*"]
    # What a node reads back after a restart is B's.
    kim.close()
    kay.close()
    x = restarted((a_node, b_node), make_server, redis, pg_url)
    wait_for("#r is registered", lambda: chanserv(x, "INFO #r").startswith("#r is registered"))
    x.send("JOIN #r")
    assert x.expect(r" 332 x #r :(.*)$").group(1) == "from B, after"
    x.send("MODE #r b")
    x.expect(r" 367 x #r bad!\*@\* ")


def test_a_room_saved_late_does_not_come_back_after_a_drop_on_another_node(
        cut_a, pg_cluster, pg_url, redis, make_server):
    proxy, a_node, b_node, kim, kay = cut_a
    cut_and_change_on_a(proxy, a_node, kim, kay, "TOPIC #r :from A, while cut",
                        r" TOPIC #r :from A, while cut")
    assert chanserv(kay, "DROP #r") == "#r is not registered any more"
    restore(proxy, a_node)
    assert founder_kept(pg_cluster, pg_url) is None   # the drop's mark: no founder
    kim.close()
    kay.close()
    x = restarted((a_node, b_node), make_server, redis, pg_url)
    assert "registered to" not in chanserv(x, "INFO #r")


def test_a_drop_written_late_leaves_the_room_registered_again_on_another_node(
        cut_a, pg_cluster, pg_url, redis, make_server):
    proxy, a_node, b_node, kim, kay = cut_a
    proxy.cut()
    assert chanserv(kim, "DROP #r") == "#r is not registered any more"
    wait_for("B hears the drop", lambda: "registered to" not in chanserv(kay, "INFO #r"))
    wait_log(a_node, r"history: the database is away", timeout=30)
    # B registers it again, after the drop it heard: saved at once.
    assert chanserv(kay, "REGISTER #r") == "#r is registered to kim"
    wait_for("B's registration is kept", lambda: founder_kept(pg_cluster, pg_url) == "kim")
    restore(proxy, a_node)
    kim.close()
    kay.close()
    x = restarted((a_node, b_node), make_server, redis, pg_url)
    wait_for("#r is registered", lambda: chanserv(x, "INFO #r").startswith("#r is registered"))
