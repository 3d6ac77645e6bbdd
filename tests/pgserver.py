"""A throwaway PostgreSQL server for the tests (issue 18).

The workspace (``madad workspace``) keeps the Committee's record in SQLite or, by URL, in
PostgreSQL. SQLite alone does not show what PostgreSQL does differently (types, locks,
concurrent sessions, migrations), so ``make test`` runs the suite against a real server:

    python tests/pgserver.py run -- CMD ARGS...

finds PostgreSQL's ``initdb`` and ``pg_ctl`` (on ``PATH``, else the highest
``/usr/lib/postgresql/*/bin``), makes a cluster in a temporary directory under ``/tmp``,
starts it on a free port of 127.0.0.1, creates the database ``madad_test``, and runs CMD
with ``MADAD_TEST_DATABASE_URL=postgresql+psycopg://madad:PASSWORD@127.0.0.1:PORT/madad_test``
added to its environment. Whatever CMD does (fails, is interrupted, or the harness gets
SIGINT/SIGTERM/SIGHUP), the server is stopped (``pg_ctl stop -m fast``) and the directory
removed; the exit code is CMD's. It prints one line to stderr when the server has started and
one when it has stopped; the password (fresh from :func:`secrets.token_urlsafe`) is printed
nowhere.

PostgreSQL refuses to run as root. As root, the server runs as the system user ``postgres``
(made by Debian's ``postgresql`` package) or, without it, as ``madad-pg`` (created with
``useradd --system``); otherwise as the current user.

Without the binaries it prints a warning and runs CMD without the variable: the tests that
need it skip (``apt-get install postgresql`` installs them; ``make test`` does so when they
are missing).

Tests get a database of their own from :func:`fresh_database` (and remove it with
:func:`drop_database`), since ``make test`` runs two pytest-xdist workers against the one
server. To run one test file against a server:

    .venv/bin/python tests/pgserver.py run -- .venv/bin/python -m pytest tests/test_workspace.py
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

#: The environment variable that carries the server's URL to the tests.
ENV_VAR = "MADAD_TEST_DATABASE_URL"
#: Where Debian (and Ubuntu) install the server's binaries, one directory per major version.
LIB_ROOT = Path("/usr/lib/postgresql")
#: The superuser that initdb creates, and the database that ``run`` creates for the tests.
SUPERUSER = "madad"
DATABASE = "madad_test"
#: The server's user when the harness runs as root and there is no ``postgres`` user.
FALLBACK_USER = "madad-pg"
#: Connections: a load test opens about 60 at once while another worker runs its own tests.
MAX_CONNECTIONS = 200
START_TIMEOUT = 60  # seconds, pg_ctl -t
#: How long CMD gets to finish after a signal before it is sent the next, harder one.
GRACE = 10.0

_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_PROTECTED = {"postgres", "template0", "template1"}


class PgServerError(RuntimeError):
    """The server could not be set up, started or stopped."""


class _Interrupted(BaseException):
    """Raised in the main thread by the harness's handlers of SIGINT, SIGTERM and SIGHUP."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _say(message: str) -> None:
    print(f"pgserver: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- finding the binaries


def _has_tools(directory: Path) -> bool:
    return all(
        (directory / tool).is_file() and os.access(directory / tool, os.X_OK)
        for tool in ("initdb", "pg_ctl")
    )


def _version_key(name: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in name.split("."))
    except ValueError:
        return None


def find_pg_bindir(
    path: str | None = None, lib_root: str | os.PathLike[str] = LIB_ROOT
) -> Path | None:
    """The directory holding PostgreSQL's ``initdb`` and ``pg_ctl``, or None.

    First ``pg_ctl`` on ``path`` (default: ``$PATH``), taken where its symlinks lead (pg_ctl
    finds ``postgres`` beside its real self) or where it was found, when ``initdb`` is there
    too; else the highest version ``lib_root/VERSION/bin`` that has both.
    """
    pg_ctl = shutil.which("pg_ctl", path=path)
    if pg_ctl:
        for candidate in (Path(pg_ctl).resolve().parent, Path(pg_ctl).parent):
            if _has_tools(candidate):
                return candidate
    root = Path(lib_root)
    versions = []
    if root.is_dir():
        for child in root.iterdir():
            key = _version_key(child.name)
            if key is not None and _has_tools(child / "bin"):
                versions.append((key, child / "bin"))
    return max(versions)[1] if versions else None


# ---------------------------------------------------------------- the server's user


def server_account() -> pwd.struct_passwd | None:
    """The account the server runs as when the harness runs as root; None when not root.

    ``postgres`` when it exists, else ``madad-pg``, created as a system user if need be.
    """
    if os.geteuid() != 0:
        return None
    for name in ("postgres", FALLBACK_USER):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    done = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
         FALLBACK_USER],
        capture_output=True, text=True, check=False,
    )
    try:  # also when useradd failed because another run made the user meanwhile
        return pwd.getpwnam(FALLBACK_USER)
    except KeyError:
        raise PgServerError(
            f"running as root and cannot create the user {FALLBACK_USER!r} for the server "
            f"(useradd: {done.stderr.strip() or done.returncode})"
        ) from None


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on just now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------- the server


class PostgresServer:
    """A cluster in a temporary directory, started by :meth:`start`, removed by :meth:`stop`.

    Also a context manager. ``url`` is the SQLAlchemy URL of the database ``madad_test``.
    """

    def __init__(self, bindir: str | os.PathLike[str]) -> None:
        self.bindir = Path(bindir)
        self.account = server_account()
        self.password = secrets.token_urlsafe(24)
        self.port: int | None = None
        self.version: str | None = None
        self.base: Path | None = None
        self._env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}

    # paths of the temporary directory: base/ (0755) holds data/ (0700) and sock/
    @property
    def data(self) -> Path:
        assert self.base is not None
        return self.base / "data"

    @property
    def log(self) -> Path:
        assert self.base is not None
        return self.base / "server.log"

    @property
    def url(self) -> str:
        return self.url_of(DATABASE)

    def url_of(self, database: str) -> str:
        password = quote(self.password, safe="")
        return f"postgresql+psycopg://{SUPERUSER}:{password}@127.0.0.1:{self.port}/{database}"

    @property
    def user_name(self) -> str:
        return self.account.pw_name if self.account else pwd.getpwuid(os.geteuid()).pw_name

    def __enter__(self) -> PostgresServer:
        try:
            self.start()
        except BaseException:
            self.stop(quiet=True)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        """Runs one of the server's programs as the server's user, in the temporary directory."""
        if self.account is not None:
            kwargs.update(user=self.account.pw_uid, group=self.account.pw_gid, extra_groups=[])
        return subprocess.run(args, cwd=self.base, env=self._env, check=False, **kwargs)

    def _own(self, path: Path, mode: int) -> None:
        os.chmod(path, mode)
        if self.account is not None:
            os.chown(path, self.account.pw_uid, self.account.pw_gid)

    def start(self) -> None:
        """initdb, pg_ctl start on a free port, CREATE DATABASE madad_test."""
        # Under /tmp (short enough for the socket's path, and traversable by the server's user).
        self.base = Path(tempfile.mkdtemp(prefix="madad-pg-", dir="/tmp" if os.path.isdir("/tmp")
                                          else None))
        self._own(self.base, 0o755)
        self._initdb()
        for attempt in range(3):
            self.port = free_port()
            if self._pg_ctl_start():
                break
            in_use = "Address already in use" in self._log_tail(4000)
            if not in_use or attempt == 2:
                self._fail(f"the server did not start on port {self.port}")
        self._create_database()

    def _initdb(self) -> None:
        pwfile = self.base / "pwfile"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(self.password + "\n")
        self._own(pwfile, 0o600)
        try:
            for locale in (["--locale=C.UTF-8"], ["--no-locale"]):
                if self.data.exists():
                    shutil.rmtree(self.data)
                self.data.mkdir()
                self._own(self.data, 0o700)
                done = self._run(
                    [str(self.bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
                     f"--pwfile={pwfile}", "--auth-host=scram-sha-256",
                     "--auth-local=scram-sha-256", "-E", "UTF8", *locale],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                )
                if done.returncode == 0:
                    return
            tail = "\n".join(done.stdout.strip().splitlines()[-15:])
            raise PgServerError(f"initdb failed (as {self.user_name}):\n{tail}")
        finally:
            pwfile.unlink(missing_ok=True)

    def _pg_ctl_start(self) -> bool:
        sock = self.base / "sock"
        if not sock.exists():
            sock.mkdir()
            self._own(sock, 0o700)
        options = (
            f"-p {self.port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off"
            f" -c max_connections={MAX_CONNECTIONS}"
        )
        # pg_ctl's own messages go to a file: a pipe would stay open in the postmaster.
        with open(self.base / "pg_ctl.out", "ab") as out:
            done = self._run(
                [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                 "-w", "-t", str(START_TIMEOUT), "-o", options, "start"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return done.returncode == 0

    def _create_database(self) -> None:
        import psycopg
        from psycopg import sql

        try:
            with psycopg.connect(
                host="127.0.0.1", port=self.port, user=SUPERUSER, password=self.password,
                dbname="postgres", autocommit=True, connect_timeout=10,
            ) as conn:
                self.version = str(conn.execute("SHOW server_version").fetchone()[0])
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
        except psycopg.Error as exc:
            self._fail(f"cannot create the database {DATABASE}: {exc}")

    def _log_tail(self, chars: int = 3000) -> str:
        parts = []
        for path in (self.base / "pg_ctl.out", self.log) if self.base else ():
            try:
                text = path.read_text(errors="replace").strip()
            except OSError:
                continue
            if text:
                parts.append(f"--- {path.name}\n{text[-chars:]}")
        return "\n".join(parts)

    def _fail(self, message: str) -> None:
        tail = self._log_tail()
        if tail:
            print(tail, file=sys.stderr, flush=True)
        raise PgServerError(message + (" (the server's log is above)" if tail else ""))

    def _postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError, AssertionError):
            return None

    def stop(self, quiet: bool = False) -> None:
        """pg_ctl stop -m fast (or, should that fail, signals), then remove the directory."""
        if self.base is None:
            return
        if self._postmaster_pid() is not None:
            done = self._run(
                [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                 "-t", str(START_TIMEOUT), "stop"],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True,
            )
            if done.returncode != 0:
                self._kill_postmaster()
        shutil.rmtree(self.base, ignore_errors=True)
        if self.base.exists():
            _say(f"could not remove {self.base}")
        elif not quiet and self.port is not None:
            version = f" {self.version}" if self.version else ""
            _say(f"stopped PostgreSQL{version} on 127.0.0.1:{self.port}, removed {self.base}")
        self.base = None

    def _kill_postmaster(self) -> None:
        pid = self._postmaster_pid()
        if pid is None:
            return
        for sig, wait in ((signal.SIGQUIT, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.1)
        _say(f"the server (pid {pid}) is still running")


# ---------------------------------------------------------------- databases for tests


def _split(url: str):
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"not a PostgreSQL URL: {parsed.render_as_string()}")
    # psycopg takes the URL without SQLAlchemy's "+psycopg" as its conninfo.
    admin = parsed.set(drivername="postgresql", database="postgres")
    return parsed, admin.render_as_string(hide_password=False)


def fresh_database(url: str, prefix: str = "t") -> str:
    """Creates an empty database on the server of ``url`` and returns its URL.

    Its name is ``prefix`` and a random hex string, 20 characters in all; ``url`` is a
    SQLAlchemy URL (``postgresql+psycopg://...``) whose user may create databases.
    """
    import psycopg
    from psycopg import sql

    prefix = prefix.lower()
    if not _NAME.fullmatch(prefix) or len(prefix) > 12:
        raise ValueError(f"prefix {prefix!r}: up to 12 of a-z, 0-9 and _, not a digit first")
    name = (prefix + uuid.uuid4().hex)[:20]
    parsed, admin = _split(url)
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return parsed.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drops the database of ``url`` (if it exists), closing its sessions (PostgreSQL 13+)."""
    import psycopg
    from psycopg import sql

    parsed, admin = _split(url)
    name = parsed.database
    if not name or name in _PROTECTED:
        raise ValueError(f"will not drop the database {name!r}")
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


# ---------------------------------------------------------------- run -- CMD


def _raise_interrupted(signum: int, frame: object) -> None:
    raise _Interrupted(signum)


def _run_command(cmd: list[str], env: dict[str, str]) -> int:
    """Runs CMD to its end and returns its exit code; on a signal, passes it on to CMD."""
    try:
        proc = subprocess.Popen(cmd, env=env)
    except OSError as exc:
        _say(f"cannot run {cmd[0]!r}: {exc}")
        return 127
    received: int | None = None
    steps: list[int | None] = []  # what to send CMD next, when it outlasts its grace
    while True:
        try:
            if received is None:
                proc.wait()
            else:
                proc.wait(timeout=GRACE)
            break
        except _Interrupted as exc:
            if received is None:
                received = exc.signum
                # A Ctrl-C at the terminal has reached CMD too: give it time before sending it.
                if received == signal.SIGINT:
                    steps = [signal.SIGINT, signal.SIGTERM, signal.SIGKILL]
                else:
                    proc.send_signal(received)
                    steps = [signal.SIGTERM, signal.SIGKILL]
            else:  # a second signal: no more waiting
                steps = []
                proc.kill()
        except subprocess.TimeoutExpired:
            proc.send_signal(steps.pop(0) if steps else signal.SIGKILL)
    code = proc.returncode
    if received is not None:
        return 128 + received
    return 128 - code if code < 0 else code


def run(cmd: list[str], bindir: str | os.PathLike[str] | None = None) -> int:
    """Runs ``cmd`` with a server's URL in ``MADAD_TEST_DATABASE_URL``; returns its exit code."""
    bindir = find_pg_bindir() if bindir is None else Path(bindir)
    if bindir is None:
        _say("WARNING: no PostgreSQL (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin;"
             " the PostgreSQL tests will be skipped (install it: apt-get install postgresql)")
        return _run_command(cmd, dict(os.environ))
    handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, _raise_interrupted) for sig in handled}
    server = None
    try:
        server = PostgresServer(bindir)
        server.start()
        _say(f"started PostgreSQL {server.version} on 127.0.0.1:{server.port} "
             f"({bindir}, as {server.user_name}, in {server.base})")
        return _run_command(cmd, {**os.environ, ENV_VAR: server.url})
    except PgServerError as exc:
        _say(f"ERROR: {exc}")
        return 1
    except _Interrupted as exc:
        return 128 + exc.signum
    finally:
        for sig in handled:  # nothing may interrupt the clean-up
            signal.signal(sig, signal.SIG_IGN)
        try:
            if server is not None:
                server.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


USAGE = "usage: python tests/pgserver.py run -- CMD [ARGS...]"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] in (["-h"], ["--help"]):
        print(USAGE + "\n\n" + (__doc__ or "").strip())
        return 0
    if args[:1] != ["run"]:
        print(USAGE, file=sys.stderr)
        return 2
    cmd = args[1:]
    if cmd[:1] == ["--"]:
        cmd = cmd[1:]
    if not cmd:
        print(USAGE, file=sys.stderr)
        return 2
    return run(cmd)


if __name__ == "__main__":
    sys.exit(main())
