"""irctest's controller for parleyd: `make irctest` runs irctest with
`--controller parley_controller` and this folder on PYTHONPATH.

It starts the built parleyd on the port irctest hands out, with the
operator irctest logs in as, and with limits fit for a test run: irctest
opens many connections from 127.0.0.1 in quick succession and sends bursts
of lines, which a public server's flood control would (rightly) slow.

`capabilities` claims what Parley advertises in CAP LS, so a test whose
CAP REQ is NAKed fails instead of being skipped; `optional_behaviors` and
the ISUPPORT tokens likewise turn "not supported" skips into failures for
what Parley does support. Keep both lists equal to what the server
advertises (docs/protocol.md).

Each server keeps its database in a data dir of its own (the test's
directory); `registerUser` makes an account there with the admin command
line (`parleyd account add NAME`, the password on stdin), as an operator
would, while the server runs.
"""
import os
from pathlib import Path
import shutil
import signal
import subprocess
import time
from typing import Optional, Set, Type

from irctest.basecontrollers import BaseServerController, DirectoryBasedController
from irctest.runner import NotImplementedByController
from irctest.specifications import Capabilities, OptionalBehaviors

# The parleyd at the top of the project, unless PARLEYD names another.
PARLEYD = os.environ.get(
    "PARLEYD", str(Path(__file__).resolve().parent.parent.parent / "parleyd")
)


class ParleyController(BaseServerController, DirectoryBasedController):
    software_name = "Parley"
    supported_sasl_mechanisms: Set[str] = {"PLAIN", "SCRAM-SHA-256", "EXTERNAL"}
    supports_sts = False

    capabilities = frozenset(
        [
            Capabilities.ACCOUNT_NOTIFY,
            Capabilities.ACCOUNT_TAG,
            Capabilities.AWAY_NOTIFY,
            Capabilities.BATCH,
            Capabilities.ECHO_MESSAGE,
            Capabilities.EXTENDED_JOIN,
            Capabilities.EXTENDED_MONITOR,
            Capabilities.LABELED_RESPONSE,
            Capabilities.MESSAGE_TAGS,
            Capabilities.MESSAGE_REDACTION,
            Capabilities.MULTILINE,
            Capabilities.MULTI_PREFIX,
            Capabilities.READ_MARKER,
            Capabilities.SERVER_TIME,
            Capabilities.SETNAME,
        ]
    )

    optional_behaviors = frozenset(
        [
            OptionalBehaviors.BAN_EXCEPTION_MODE,
            OptionalBehaviors.CAP_REQ_MINUS,
            OptionalBehaviors.INVITE_EXCEPTION_MODE,
            OptionalBehaviors.MULTI_JOIN,
            OptionalBehaviors.MULTI_KICK,
            OptionalBehaviors.MULTI_NAMES_COMMAND,
            OptionalBehaviors.MULTI_PRIVMSG,
            OptionalBehaviors.SASL_AFTER_REGISTRATION,
            OptionalBehaviors.SASL_REAUTHENTICATION,
        ]
    )

    # ISUPPORT tokens whose values this run must show (testValues).
    isupport = {
        "CASEMAPPING": "ascii",
        "CHANMODES": "beI,k,l,imnst",
        "CHANTYPES": "#",
        "EXCEPTS": "e",
        "INVEX": "I",
        "MONITOR": "100",
        "NICKLEN": "32",
        "PREFIX": "(ov)@+",
        "WHOX": None,
    }

    def run(
        self,
        hostname: str,
        port: int,
        *,
        password: Optional[str],
        ssl: bool,
        run_services: bool,
        faketime: Optional[str],
        websocket_hostname: Optional[str],
        websocket_port: Optional[int],
    ) -> None:
        assert self.proc is None
        # No e-mail is asked for or sent (README, accounts): a test that
        # needs a server that wants one does not apply.
        if self.test_config.account_registration_requires_email:
            raise NotImplementedByController("account registration with e-mail")
        self.port = port
        self.hostname = hostname
        self.create_config()
        assert self.directory
        self.data_dir = str(Path(self.directory) / "data")

        listen = f"{hostname}:{port}"
        args = [
            "--irc-listen", listen + (" tls" if ssl else ""),
            "--server-name", "My.Little.Server",
            "--oper", "operuser:operpassword",
            # irctest: hundreds of clients from one address, each sending
            # bursts; and nicknames up to 32 bytes as Ergo allows.
            "--max-per-ip", "0",
            "--flood-rate", "0",
            "--nick-len", "32",
            "--log-level", "debug" if self.debug_mode else "warn",
            # History and accounts in the controller's own directory: irctest
            # runs servers side by side, and one data-dir takes one parleyd.
            "--data-dir", self.data_dir,
            "--register-before-connect",
            "on" if self.test_config.account_registration_before_connect else "off",
        ]
        if ssl:
            self.gen_ssl()
            args += ["--tls-cert", str(self.pem_path), "--tls-key", str(self.key_path)]
        if password is not None:
            args += ["--password", password]
        if websocket_hostname is not None or websocket_port is not None:
            args += ["--web-listen", f"{websocket_hostname}:{websocket_port}",
                     "--allowed-origins", "*"]

        faketime_cmd = []
        env = dict(os.environ)
        if faketime and shutil.which("faketime"):
            faketime_cmd = ["faketime", "-f", faketime]
            self.faketime_enabled = True
            # libfaketime is preloaded before a sanitized parleyd's ASan
            # runtime, which ASan refuses unless told it is fine.
            env["ASAN_OPTIONS"] = ":".join(
                filter(None, [env.get("ASAN_OPTIONS"), "verify_asan_link_order=0"])
            )

        self.proc = self.execute([*faketime_cmd, PARLEYD, *args], env=env)

    def kill_proc(self) -> None:
        """irctest waits for the process it started; under faketime that is
        the wrapper, which may be gone while parleyd still closes its
        database, and the test's directory is removed under it. Wait for
        the whole process group."""
        assert self.proc
        pgid = os.getpgid(self.proc.pid)
        super().kill_proc()
        # Bounded: a zombie nobody reaps would answer forever.
        for sig in (None, signal.SIGKILL):
            if sig is not None:
                try:
                    os.killpg(pgid, sig)
                except ProcessLookupError:
                    return
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    os.killpg(pgid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.02)

    def wait_for_services(self) -> None:
        # Accounts are parleyd's own: there is no services daemon to wait for.
        pass

    def registerUser(self, case, username: str, password: Optional[str] = None) -> None:
        """An account, made as an operator makes one: with the command
        line, on the running server's data dir."""
        assert password
        # A password is 6 bytes at least, the operator's too (README,
        # accounts); irctest's shortest are 3. As Atheme's controller does
        # for passwords it cannot take, the test is skipped, not failed.
        if len(password.encode()) < 6:
            raise NotImplementedByController("passwords under 6 bytes")
        # The server opens (and makes) its database before it listens: a
        # command line run before that would race it for the first schema.
        self.wait_for_port()
        done = subprocess.run(
            [PARLEYD, "account", "add", username, "--data-dir", self.data_dir],
            input=password.encode() + b"\n",
            capture_output=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")


def get_irctest_controller_class() -> Type[ParleyController]:
    return ParleyController
