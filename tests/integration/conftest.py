import pytest

from chat import Server


@pytest.fixture
def server():
    """A parleyd with default options on a free port."""
    srv = Server()
    yield srv
    rc = srv.stop()
    # Under ASan a leak or error changes the exit code: every test checks it.
    assert rc == 0, "parleyd exited with %s:\n%s" % (rc, srv.log_text())


@pytest.fixture
def make_server():
    """Starts parleyd with the given options; stops them all at the end."""
    started = []

    def make(*args, **kw):
        srv = Server(*args, **kw)
        started.append(srv)
        return srv
    yield make
    for srv in started:
        rc = srv.stop()
        assert rc == 0, "parleyd exited with %s:\n%s" % (rc, srv.log_text())
