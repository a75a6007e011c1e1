"""Credentials for PLC connections, kept out of results, logs and reprs.

A password lives in a `Secret`, whose repr and str are a mask; only
`Secret.reveal()` gives the text, and only the code that sends it to the PLC
calls it. Credentials come from a file named in the configuration or, where
none is named, from the environment (``SIMENGINE_OPCUA_USER`` and
``SIMENGINE_OPCUA_PASSWORD`` by default).

A credentials file holds two ``key: value`` lines (``#`` starts a comment)::

    user: operator
    password: s3cret

It should be readable by its owner only (``chmod 600``); a file that others
may read is used, with a warning that names the file and its mode.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path

from simengine.config.validate import ConfigError, Problem

log = logging.getLogger(__name__)

ENV_PREFIX = "SIMENGINE_OPCUA"
MASK = "********"
# asyncua logs whole requests at DEBUG, an ActivateSession's password among them
ASYNCUA_REQUEST_LOGGERS = ("asyncua.client.ua_client.UASocketProtocol", "asyncua.client.ua_session.UaSession",
                           "asyncua.client.client", "asyncua.server.uaprocessor")
_PASSWORD_FIELD = re.compile(r"(Password=)b?(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")")


class Secret:
    """A string that does not show itself: repr, str and format give a mask; `reveal()`
    returns the text. It pickles (to reach shard processes): never pickle it into results."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        if not isinstance(value, str):
            raise TypeError(f"a Secret holds a str, not {type(value).__name__}")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(Secret)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self):
        return (Secret, (self._value,))


class Credentials:
    """A user name and its password (a `Secret`). The repr shows the user only."""

    __slots__ = ("user", "password")

    def __init__(self, user: str, password: str | Secret):
        if not user:
            raise ValueError("user = '': a user name must not be empty")
        self.user = user
        self.password = password if isinstance(password, Secret) else Secret(password)

    def matches(self, user: str | None, password: str | None) -> bool:
        """True when `user` and `password` are these, compared in constant time."""
        if user is None or password is None:
            return False
        same_user = hmac.compare_digest(user.encode(), self.user.encode())
        same_password = hmac.compare_digest(password.encode(), self.password.reveal().encode())
        return same_user and same_password

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, password='{MASK}')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Credentials) and other.user == self.user and other.password == self.password

    def __hash__(self) -> int:
        return hash((Credentials, self.user))

    def __reduce__(self):
        return (Credentials, (self.user, self.password))


def credentials_from_env(prefix: str = ENV_PREFIX, environ: Mapping[str, str] | None = None) -> Credentials | None:
    """Credentials from ``<prefix>_USER`` and ``<prefix>_PASSWORD``; None when neither is set."""
    environ = os.environ if environ is None else environ
    user, password = environ.get(f"{prefix}_USER"), environ.get(f"{prefix}_PASSWORD")
    if user is None and password is None:
        return None
    problems = [Problem(f"{prefix}_{key}", "<unset>", "must be set together with the other")
                for key, value in (("USER", user), ("PASSWORD", password)) if not value]
    if problems:
        raise ConfigError(problems)
    return Credentials(user, password)


def credentials_from_file(path: str | Path) -> Credentials:
    """Credentials from a ``user:`` / ``password:`` file; warns when others may read it."""
    path = Path(path).expanduser()
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"credentials file {str(path)!r} does not exist") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("credentials file %s has mode %o: others may read it; run `chmod 600 %s`",
                    path, stat.S_IMODE(mode), path)
    fields: dict[str, str] = {}
    problems: list[Problem] = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.partition(":")
        key = key.strip()
        if not sep or key not in ("user", "password"):
            # never echo the line: it may be a password written in the wrong form
            problems.append(Problem(f"{path}:{number}", "<hidden>", "expected 'user: NAME' or 'password: TEXT'"))
            continue
        fields[key] = _unquote(value.strip())
    problems += [Problem(f"{path}:{key}", "<missing>", "must be given and non-empty")
                 for key in ("user", "password") if not fields.get(key)]
    if problems:
        raise ConfigError(problems)
    return Credentials(fields["user"], fields["password"])


def load_credentials(path: str | Path | None = None, *, prefix: str = ENV_PREFIX,
                     environ: Mapping[str, str] | None = None) -> Credentials | None:
    """The file's credentials when `path` is given, else the environment's; None for anonymous."""
    if path is not None and str(path) != "":
        return credentials_from_file(path)
    return credentials_from_env(prefix, environ)


class RedactPasswords(logging.Filter):
    """Masks ``Password=...`` fields in log records (as asyncua writes request reprs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "Password=" in message:
            record.msg, record.args = _PASSWORD_FIELD.sub(rf"\1'{MASK}'", message), ()
        return True


def redact_passwords(loggers: tuple[str, ...] = ASYNCUA_REQUEST_LOGGERS) -> None:
    """Install `RedactPasswords` on `loggers` (once each)."""
    for name in loggers:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactPasswords) for f in logger.filters):
            logger.addFilter(RedactPasswords())


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value
