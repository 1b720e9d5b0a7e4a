"""SpamAssassin's spamd on a free loopback port, network tests off (`-L`), for the content check.

    with SpamdProcess() as spamd:
        check_content(messages, server=spamd.server)

Debian's `spamd` package (installed by scripts/test-services). Start-up takes a few seconds
(it compiles the rule set), so tests share one per session.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from diagnostics.content import SpamdServer

SPAMD = shutil.which("spamd") or "/usr/sbin/spamd"


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spamd_installed() -> bool:
    return Path(SPAMD).exists()


class SpamdProcess:
    """spamd in the foreground as a child process; stopped (by its own pid) on exit."""

    def __init__(self, *, start_timeout: float = 60.0) -> None:
        self.port = free_tcp_port()
        self.start_timeout = start_timeout
        self.process: subprocess.Popen | None = None
        self.server = SpamdServer(host="127.0.0.1", port=self.port, timeout=30.0)

    def __enter__(self) -> SpamdProcess:
        self._home = tempfile.TemporaryDirectory(prefix="spamd-")
        os.chmod(self._home.name, 0o755)  # noqa: S103 - spamd drops to nobody, reads the pid
        command = [
            SPAMD,
            "--local",  # no network tests: a score depends on the message alone
            "--nouser-config",
            "--listen-ip=127.0.0.1",
            f"--port={self.port}",
            "--allowed-ips=127.0.0.1",
            "--max-children=2",
            "--min-spare=1",
            "--max-spare=1",
            f"--pidfile={self._home.name}/spamd.pid",
            "--syslog=stderr",
        ]
        if os.geteuid() == 0:
            command.append("--username=nobody")  # spamd refuses to serve as root
        self.process = subprocess.Popen(  # noqa: S603 - a fixed command line
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"spamd exited at start: {error}")
            if self.ping():
                return self
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"spamd did not answer PING within {self.start_timeout:g} s")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING SPAMC/1.5\r\n\r\n")
                return b"PONG" in conn.recv(100)
        except OSError:
            return False

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stderr:
            self.process.stderr.close()
        self._home.cleanup()
