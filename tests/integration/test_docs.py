"""The manuals and the example config file against the option table: what
documents an option is made from the table (tools/options-doc), so it
cannot drift, and the manuals pass mandoc's lint."""
import re
import subprocess

from chat import PARLEY, PARLEYD, ROOT, missing_tools, need_tools, Server

MAN = ROOT / "man"


def dumped_options():
    out = subprocess.run([str(PARLEYD), "--dump-options"], capture_output=True, text=True,
                         check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def test_docs_made_from_the_option_table():
    """contrib/parleyd.conf and parleyd.conf(5)'s options are what
    tools/options-doc makes from the table, and the README's table names
    every option once with its value and default."""
    p = subprocess.run([str(ROOT / "tools" / "options-doc"), "--parleyd", str(PARLEYD), "check"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_manuals_lint_clean():
    need_tools(missing_tools("mandoc"))
    pages = sorted(MAN.glob("*.[1-8]"))
    assert [p.name for p in pages] == ["parley.1", "parleyd.8", "parleyd.conf.5"]
    p = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", *map(str, pages)],
                       capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout == "" and p.stderr == "", p.stdout + p.stderr


def test_every_option_documented_once():
    """Each option of the table is an item of parleyd.conf(5) once, and
    parleyd(8) documents only the command line's own flags."""
    conf5 = (MAN / "parleyd.conf.5").read_text()
    items = re.findall(r"^\.It Ic ([a-z0-9-]+)", conf5, re.M)
    keys = [o[0] for o in dumped_options()]
    assert items == keys
    page8 = (MAN / "parleyd.8").read_text()
    flags8 = re.findall(r"^\.It Fl -([a-z0-9-]+)", page8, re.M)
    assert flags8 == ["config", "backup", "help", "version"]
    help_ = subprocess.run([str(PARLEYD), "--help"], capture_output=True, text=True).stdout
    own = [f for f in re.findall(r"^  --([a-z0-9-]+)", help_, re.M) if f not in keys]
    assert own == flags8


def test_client_manual_has_every_flag():
    help_ = subprocess.run([str(PARLEY), "--help"], capture_output=True, text=True).stdout
    flags = set(re.findall(r"--([a-z][a-z0-9-]*)", help_))
    assert {"nick", "tls", "tls-ca", "insecure", "help", "version"} <= flags
    page = (MAN / "parley.1").read_text()
    documented = re.findall(r"^\.It Fl -([a-z0-9-]+)", page, re.M)
    assert sorted(documented) == sorted(flags)
    assert len(documented) == len(set(documented))


def test_example_config_is_the_defaults(tmp_path):
    """contrib/parleyd.conf, each option with a default taken out of its
    comment, is a config parleyd starts with."""
    defaults = {o[0]: o[2] for o in dumped_options() if o[2]}
    lines = []
    for line in (ROOT / "contrib" / "parleyd.conf").read_text().splitlines():
        m = re.match(r"^#([a-z0-9-]+) (.*)$", line)
        if m and defaults.get(m.group(1)) == m.group(2):
            lines.append(line[1:])
    assert len(lines) == len(defaults), lines
    conf = tmp_path / "parleyd.conf"
    conf.write_text("\n".join(lines) + "\n")
    srv = Server("--config", str(conf))
    try:
        c = srv.client("alice")
        c.send("/rooms")
        c.expect(r"#lobby")
    finally:
        srv.stop()
