"""A private Dovecot IMAP server for a test: its own config under a temporary directory.

Debian's `dovecot-imapd` (installed by scripts/test-services) runs in the foreground on
127.0.0.1 and a free port, plain IMAP with cleartext login (loopback only), users from a
passwd-file, mail in Maildir under the same directory. The machine's own Dovecot, if any, is
never touched.

    with DovecotServer(users={"helpdesk": "secret"}) as imap:
        imap.append("helpdesk", raw_message)
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from imap_tools import MailBoxUnencrypted

from tests.conftest import service_missing
from tests.servers.postgres import free_port

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = dovecot-test-{port}
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = {uid}
last_valid_uid = {uid}
mail_location = maildir:{root}/mail/%u
mail_uid = {uid}
mail_gid = {gid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Handled {{
    auto = create
  }}
}}
"""


def dovecot_binary() -> str:
    found = shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
    )
    if not found:
        service_missing("dovecot is not installed (Debian package dovecot-imapd)")
    return found


class DovecotServer:
    """Dovecot on 127.0.0.1:<free port>; `users` maps user names to passwords."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users
        self.host = "127.0.0.1"
        self.port = 0
        self.root: Path | None = None
        self._process: subprocess.Popen | None = None

    def start(self) -> DovecotServer:
        binary = dovecot_binary()
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-test-"))
        self.root.chmod(0o755)
        # Dovecot refuses mail access as root: run as its own user when we are root.
        account = pwd.getpwnam("dovecot") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
        self.port = free_port()
        for sub in ("run", "state", "mail", "home"):
            (self.root / sub).mkdir()
        (self.root / "users").write_text(
            "".join(f"{name}:{{PLAIN}}{password}::::::\n" for name, password in self.users.items())
        )
        config = self.root / "dovecot.conf"
        config.write_text(
            CONFIG.format(
                root=self.root,
                port=self.port,
                user=account.pw_name,
                group=_group_name(account.pw_gid),
                uid=account.pw_uid,
                gid=account.pw_gid,
            )
        )
        if os.geteuid() == 0:
            for path in (self.root / "mail", self.root / "home", self.root / "state"):
                os.chown(path, account.pw_uid, account.pw_gid)
        self._process = subprocess.Popen(
            [binary, "-F", "-c", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                output = self._process.stdout.read().decode(errors="replace")
                raise RuntimeError(f"dovecot did not start: {output}\n{self.log()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"dovecot did not answer on port {self.port}: {self.log()}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        self._process = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> DovecotServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self) -> str:
        path = self.root / "dovecot.log" if self.root else None
        return path.read_text(errors="replace")[-3000:] if path and path.exists() else ""

    def mailbox(self, user: str) -> MailBoxUnencrypted:
        """A logged-in IMAP client for `user` (use it as a context manager)."""
        return MailBoxUnencrypted(self.host, port=self.port, timeout=10).login(
            user, self.users[user]
        )

    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        """Deliver a message the way a mail server would leave it: APPEND over IMAP, unseen."""
        with self.mailbox(user) as box:
            box.append(raw, folder, flag_set=())

    def settings(self, user: str) -> dict[str, object]:
        """The INBOUND_IMAP_* settings that point the poller at this server as `user`."""
        return {
            "INBOUND_IMAP_HOST": self.host,
            "INBOUND_IMAP_PORT": self.port,
            "INBOUND_IMAP_USER": user,
            "INBOUND_IMAP_PASSWORD": self.users[user],
            "INBOUND_IMAP_FOLDER": "INBOX",
            "INBOUND_IMAP_SSL": False,
        }


def _group_name(gid: int) -> str:
    import grp

    return grp.getgrgid(gid).gr_name
