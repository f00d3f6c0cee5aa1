"""The web page's settings: web-title and web-description are put into
the landing page, HTML-escaped, built in or from web-dir. The browser's
view of them (and notifications) is tests/browser/e2e.mjs's "site"
scenario."""
import subprocess

from chat import PARLEYD, ROOT, Server, free_port
from test_web import get, served

TITLE = "Chat <b>&\"Co'"
DESCRIPTION = "Be <i>kind</i> & brief: é"
TITLE_HTML = "Chat &lt;b&gt;&amp;&quot;Co&#39;"
DESCRIPTION_HTML = "Be &lt;i&gt;kind&lt;/i&gt; &amp; brief: é"


def test_title_and_description_are_escaped_into_the_landing_page():
    srv = Server("--web-title", TITLE, "--web-description", DESCRIPTION, web=True)
    try:
        status, headers, body = get(srv.web_port, "/")
        assert status == 200
        assert body == served("index.html", TITLE_HTML, DESCRIPTION_HTML)
        page = body.decode()
        assert "<title>%s</title>" % TITLE_HTML in page
        assert '<p id="site-description" class="site-description">%s</p>' % DESCRIPTION_HTML in page
        assert "<b>" not in page and "<i>" not in page and "{{" not in page
        assert int(headers["content-length"]) == len(body)
        status, headers, head = get(srv.web_port, "/", method="HEAD")
        assert int(headers["content-length"]) == len(body) and head == b""
        # Only the landing page: the others are served as they are.
        assert get(srv.web_port, "/app.js")[2] == (ROOT / "web" / "app.js").read_bytes()
    finally:
        assert srv.stop() == 0, srv.log_text()


def test_defaults_name_parley_and_say_nothing_more():
    srv = Server(web=True)
    try:
        page = get(srv.web_port, "/")[2].decode()
        assert "<title>Parley</title>" in page
        assert '<p id="site-description" class="site-description"></p>' in page
        assert "{{" not in page
    finally:
        assert srv.stop() == 0, srv.log_text()


def test_web_dir_landing_page_is_filled_in_too(tmp_path):
    (tmp_path / "index.html").write_text("<title>{{title}}</title>{{description}}{{other}}")
    (tmp_path / "notes.txt").write_text("{{title}}")
    srv = Server("--web-dir", str(tmp_path), "--web-title", "A&B", web=True)
    try:
        assert get(srv.web_port, "/")[2] == b"<title>A&amp;B</title>{{other}}"
        assert get(srv.web_port, "/notes.txt")[2] == b"{{title}}"
    finally:
        assert srv.stop() == 0, srv.log_text()


def test_bad_settings_are_one_line_and_exit_2():
    for args in (["--web-title", "x" * 81], ["--web-description", "y" * 501],
                 ["--web-title", "tab\there"], ["--web-title", ""]):
        p = subprocess.run([str(PARLEYD), "--listen", "127.0.0.1:%d" % free_port(),
                            "--history", "off", *args], capture_output=True, text=True, timeout=10)
        assert p.returncode == 2 and p.stderr.count("\n") == 1, (args, p.stderr)
        assert "web-" in p.stderr, p.stderr
