"""Real SMTP endpoints on 127.0.0.1 for tests: no SMTP is mocked anywhere.

* `SmtpServer`: aiosmtpd on a free port; optionally offers STARTTLS (a self-signed certificate
  made at test time), requires AUTH with given credentials, answers RCPT for given addresses
  with 550 5.1.1 (unknown user), 451 4.7.1 (greylisting) or any reply you script.
* `SilentServer`: accepts connections and never says a word (timeouts).
* `GreetingServer`: greets with a fixed line (a 554 or 421 banner), then reads and ignores.
* `closed_port()`: a port on which nothing listens (connection refused).

The fixtures at the bottom start them per test and stop them afterwards:

    def test_something(smtp_server):
        server = smtp_server(starttls=True, credentials=("relay-user", "s3cret"))
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"

UNKNOWN_USER_REPLY = (
    "550 5.1.1 <{address}>: Recipient address rejected: User unknown in local recipient table"
)
GREYLIST_REPLY = "451 4.7.1 <{address}>: Recipient address rejected: Greylisted, try again later"


# --- a self-signed certificate ---------------------------------------------------------------


@dataclass(frozen=True)
class TlsFiles:
    """A certificate (also usable as its own CA file) and its private key, both PEM."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_self_signed(directory: Path, *, common_name: str = "localhost") -> TlsFiles:
    """A certificate for localhost and 127.0.0.1: with `cryptography` if present, else openssl."""
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(cert=directory / "cert.pem", key=directory / "key.pem")
    try:
        _self_signed_with_cryptography(files, common_name)
    except ImportError:
        _self_signed_with_openssl(files, common_name)
    return files


def _self_signed_with_cryptography(files: TlsFiles, common_name: str) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _self_signed_with_openssl(files: TlsFiles, common_name: str) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("neither the cryptography package nor the openssl CLI is available")
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "1", "-subj", f"/CN={common_name}",
            "-addext", f"subjectAltName=DNS:localhost,IP:{HOST}",
            "-keyout", str(files.key), "-out", str(files.cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )  # fmt: skip


# --- aiosmtpd --------------------------------------------------------------------------------


class _Handler:
    """Answers RCPT per the server's rules and remembers what clients did."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options) -> str:
        self.server.rcpt_seen.append(address)
        key = address.lower()
        if key in self.server.rcpt_replies:
            return self.server.rcpt_replies[key].format(address=address)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, smtp, session, envelope) -> str:
        self.server.data_received += 1
        return "250 2.0.0 OK: queued"


class _FreePortController(Controller):
    """Binds port 0 and learns the port the system chose before the readiness probe."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpServer:
    """aiosmtpd on 127.0.0.1 with the behaviour a test asks for; a context manager."""

    def __init__(
        self,
        *,
        tls: TlsFiles | None = None,
        credentials: tuple[str, str] | None = None,
        auth_require_tls: bool | None = None,
        unknown_users: Iterable[str] = (),
        greylisted: Iterable[str] = (),
        rcpt_replies: Mapping[str, str] | None = None,
        smtputf8: bool = False,
        hostname: str = "mx.test",
    ) -> None:
        self.tls = tls
        self.credentials = credentials
        self.rcpt_replies: dict[str, str] = {a.lower(): UNKNOWN_USER_REPLY for a in unknown_users}
        self.rcpt_replies.update({a.lower(): GREYLIST_REPLY for a in greylisted})
        self.rcpt_replies.update({a.lower(): r for a, r in (rcpt_replies or {}).items()})
        self.rcpt_seen: list[str] = []
        self.auth_attempts: list[str] = []
        self.data_received = 0
        parameters: dict[str, Any] = {
            "server_hostname": hostname,  # the name in the banner (Controller's "hostname" binds)
            "ident": "test ESMTP",
            "enable_SMTPUTF8": smtputf8,
        }
        if tls is not None:
            parameters["tls_context"] = tls.server_context()
        if credentials is not None:
            parameters["authenticator"] = self._authenticate
            parameters["auth_required"] = True
            parameters["auth_require_tls"] = (
                tls is not None if auth_require_tls is None else auth_require_tls
            )
        self.controller = _FreePortController(_Handler(self), hostname=HOST, port=0, **parameters)

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        username = auth_data.login.decode()
        self.auth_attempts.append(username)
        ok = (username, auth_data.password.decode()) == self.credentials
        return AuthResult(success=ok, handled=False)

    @property
    def host(self) -> str:
        return HOST

    @property
    def port(self) -> int:
        return self.controller.port

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- raw sockets -----------------------------------------------------------------------------


class _Listener:
    """A TCP listener on 127.0.0.1 whose accepted connections `serve` handles in a thread."""

    def __init__(self, *, host: str = HOST, port: int = 0) -> None:
        # Another loopback address (127.0.0.2 ...) can share a port with a server on 127.0.0.1,
        # which is how one test gives several "MX hosts" different behaviours on one port.
        self.sock = socket.create_server((host, port))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.host = host
        self.connections: list[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(conn)
            self.serve(conn)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=2)
        for conn in self.connections:
            conn.close()
        self.sock.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SilentServer(_Listener):
    """Accepts connections and never speaks: every client read times out."""

    def serve(self, conn: socket.socket) -> None:
        pass  # held open until stop()


class GreetingServer(_Listener):
    """Greets every connection with one fixed line, then stays quiet."""

    def __init__(self, greeting: str, *, host: str = HOST, port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.greeting = greeting

    def serve(self, conn: socket.socket) -> None:
        conn.sendall(self.greeting.encode() + b"\r\n")


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening: connecting is refused."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# --- fixtures (import them into a test module to use them) -----------------------------------


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1 and localhost, made once per session."""
    return make_self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp_server(tls_files) -> Iterator:
    """A factory: `smtp_server(starttls=True, credentials=(...), unknown_users=[...], ...)`."""
    started: list[SmtpServer] = []

    def start(*, starttls: bool = False, **options: Any) -> SmtpServer:
        server = SmtpServer(tls=tls_files if starttls else None, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def silent_server() -> Iterator:
    """A factory: `silent_server()`, or `silent_server(host="127.0.0.2", port=...)`."""
    started: list[SilentServer] = []

    def start(*, host: str = HOST, port: int = 0) -> SilentServer:
        server = SilentServer(host=host, port=port).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def greeting_server() -> Iterator:
    """A factory: `greeting_server("554 5.7.1 go away")`, optionally with host and port."""
    started: list[GreetingServer] = []

    def start(greeting: str, *, host: str = HOST, port: int = 0) -> GreetingServer:
        server = GreetingServer(greeting, host=host, port=port).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def refused_port() -> int:
    return closed_port()
