"""Hiding secrets in what lineal records or prints: command lines, output tails, params, URIs.

Pure functions over strings; never changes text without a secret-looking part, and keeps the
shape of what it hides (``user:***@host``, ``--password ***``) so a human can read what ran.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lineal.errors import InvalidInput

#: What stands in for every hidden value.
HIDDEN = "***"

_SECRET_PARTS = ("TOKEN", "SECRET", "KEY", "PASSWORD", "PASSWD", "CRED", "AUTH", "PRIVATE",
                 "SESSION", "COOKIE", "SIGNATURE")  # fmt: skip
_SECRET_WORD = re.compile(r"^(PASS|PWD)|(PASS|PWD)$|^(PW|SIG)$")  # DB_PASS, dbPass, MYSQL_PWD
#: Words that hold a secret part but name ordinary things of this field: ``max_new_tokens``,
#: ``num_keypoints``, ``--tokenizer``; a flag or param named so is a hyperparameter.
_ORDINARY_WORDS = frozenset({
    "TOKENS", "TOKENIZE", "TOKENIZED", "TOKENIZER", "TOKENIZERS", "TOKENIZATION", "KEYPOINT",
    "KEYPOINTS", "KEYFRAME", "KEYFRAMES", "KEYWORD", "KEYWORDS",
})  # fmt: skip
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_NON_WORD = re.compile(r"[^A-Za-z0-9]+")

# Userinfo ends at the last "@" before the path: a password may hold a raw "@", never a "/".
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]{0,31})://(?P<userinfo>[^/?#\s'\"<>]*)@")
#: Schemes whose user name is a login, not a token (``ssh://git@host``, ``postgresql://alice@h``):
#: a bare user name stays; over http(s) and object stores a bare user name is often a token.
_LOGIN_SCHEMES = frozenset({
    "ssh", "git", "sftp", "scp", "ftp", "ftps", "rsync", "telnet", "postgresql", "postgres",
    "mysql", "mariadb", "mssql", "oracle", "mongodb", "redis", "rediss", "amqp", "amqps", "ldap",
    "ldaps", "smtp", "imap", "jdbc",
})  # fmt: skip
#: HTTP headers whose whole value is a credential; the auth scheme word before it stays.
_HEADER = re.compile(
    r"(?P<name>(?:proxy-)?authorization|(?:set-)?cookie)(?P<sep>[ \t]*:[ \t]*)"
    r"(?:(?P<scheme>basic|bearer|digest|token|negotiate|ntlm|hoba|mutual|aws4-hmac-sha256)"
    r"[ \t]+)?(?P<value>[^\r\n'\"]+)",
    re.IGNORECASE,
)
_HEADER_NAMES = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_QUOTED_OR_BARE = r"\"[^\"\n]*\"|'[^'\n]*'"
# NAME=VALUE anywhere: shell and env assignments, libpq DSNs, query strings, --flag=VALUE.
_ASSIGNED = re.compile(
    r"(?:^|(?<=[\s{(\[,;&?\"'+~:-]))(?P<name>[A-Za-z_][\w.\-]{0,99})(?P<sep>[ \t]*=(?!=)[ \t]*)"
    rf"(?P<value>{_QUOTED_OR_BARE}|[^\s'\"&;]*)",
    re.MULTILINE,
)
# NAME: VALUE: YAML, JSON, Python reprs, HTTP headers such as X-Api-Key.
_COLON = re.compile(
    r"(?:^|(?<=[\s{(\[,;]))(?P<q>[\"']?)(?P<name>[A-Za-z_][\w.\-]{0,99})(?P=q)"
    r"(?P<sep>[ \t]*:[ \t]*)"
    rf"(?P<value>{_QUOTED_OR_BARE}|[^\s'\",;{{}}()\[\]]+)",
    re.MULTILINE,
)
# --flag VALUE inside one string (``bash -c "tool --password x"``, a printed command line).
_SPACED_FLAG = re.compile(
    r"(?:^|(?<=[\s'\"]))(?P<name>-{1,2}[A-Za-z][\w.\-]{0,99})(?P<sep>[ \t]+)"
    rf"(?P<value>{_QUOTED_OR_BARE}|[^\s'\"\-][^\s'\"]*)",
    re.MULTILINE,
)
_FLAG = re.compile(r"(-{1,2}[A-Za-z][\w.\-]*)(?:=(.*))?", re.DOTALL)
_WHOLE_ASSIGN = re.compile(r"([+~]*[A-Za-z_][\w.\-/]*)=(.*)", re.DOTALL)
#: A value this short is not looked for in free text: it would hide ordinary words and numbers.
MIN_KNOWN = 4
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")

#: File names that hold secrets by convention (private keys, dotenv files, netrc, pgpass, …).
_SECRET_FILES = (
    ".env", ".env.*", "*.env", "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore",
    "*.kdbx", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk",
    ".netrc", "_netrc", ".pgpass", ".git-credentials", ".htpasswd", ".npmrc", ".pypirc",
    "credentials",
)  # fmt: skip
_SECRET_FILE_WORDS = frozenset({"SECRET", "SECRETS", "PASSWORD", "PASSWORDS", "PASSWD",
                                "CREDENTIAL", "CREDENTIALS", "TOKEN", "APIKEY"})  # fmt: skip
_SECRET_FILE_PAIRS = frozenset({("API", "KEY"), ("PRIVATE", "KEY"), ("ACCESS", "KEY"),
                                ("SSH", "KEY")})  # fmt: skip


def _words(name: str) -> list[str]:
    return [word for word in _NON_WORD.split(_CAMEL.sub(r"\1_\2", name).upper()) if word]


def is_secret_name(name: str) -> bool:
    """Whether a variable, flag, header, query parameter or key called ``name`` may hold a secret.

    Deliberately wide: a false positive only hides a value (``KEYBOARD_LAYOUT``, ``AUTHOR`` and
    ``PASSTHROUGH`` count as secret), a false negative leaks one. Ordinary words of the field
    (``tokens``, ``tokenizer``, ``keypoints``, ``keyframe``, ``keyword``) do not count.
    """
    words = _words(name)
    return any(
        part in word for word in words if word not in _ORDINARY_WORDS for part in _SECRET_PARTS
    ) or any(_SECRET_WORD.search(word) for word in words)


def is_secret_file(name: str) -> bool:
    """Whether a file called ``name`` (a path's last part) holds secrets by its name: ``.env``,
    ``*.pem``, ``*.key``, ``id_rsa``, ``.netrc``, ``.pgpass``, ``credentials``, or a name with the
    word secret, password, credentials, token or api key in it (``client_secret.json``)."""
    base = name.replace("\\", "/").rstrip("/").rpartition("/")[2]
    if any(fnmatch.fnmatchcase(base.lower(), pattern) for pattern in _SECRET_FILES):
        return True
    words = _words(base)  # clientSecret.json: the case splits the words
    return bool(_SECRET_FILE_WORDS.intersection(words)) or any(
        pair in _SECRET_FILE_PAIRS for pair in itertools.pairwise(words)
    )


def _hide(value: str, found: list[str] | None) -> str:
    """``***`` for ``value``, quotes kept; ``value`` noted in ``found``."""
    quote = value[:1] if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"" else ""
    inner = value[1:-1] if quote else value
    if not inner or inner == HIDDEN:
        return value
    if found is not None:
        found.append(inner)
    return f"{quote}{HIDDEN}{quote}"


def _userinfo(match: re.Match[str], found: list[str] | None) -> str:
    scheme = match["scheme"]
    user, colon, password = match["userinfo"].partition(":")
    if colon:  # user:password: the user name stays, as SQLAlchemy and libpq show it
        return f"{scheme}://{user}:{_hide(password, found)}@" if password else match[0]
    if set(scheme.lower().split("+")) & _LOGIN_SCHEMES:
        return match[0]
    return f"{scheme}://{_hide(user, found)}@"


def mask_url(text: str, found: list[str] | None = None) -> str:
    """``text`` with credentials in URLs hidden: the password of ``user:password@``, a bare user
    name before ``@`` over http(s) and object stores (where it is often a token), and the values
    of secret-looking query parameters (``?token=``, ``&sig=``, ``X-Amz-Signature=``)."""
    if "://" in text:
        text = _USERINFO.sub(lambda m: _userinfo(m, found), text)
    return _ASSIGNED.sub(lambda m: _pair(m, found), text) if "=" in text else text


#: Where each kind of store takes its credentials from, as its own SDK reads them.
CREDENTIALS_FROM = (
    "s3:// from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or --profile), "
    "gs:// from GOOGLE_APPLICATION_CREDENTIALS, az:// from AZURE_STORAGE_CONNECTION_STRING or "
    "AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY or AZURE_STORAGE_SAS_TOKEN"
)


def refuse_credentials(text: str, *, never: str) -> None:
    """Refuse a URL with a user's password, a token or a signature in it, saying what lineal
    ``never`` does with them (writes them to a shared config, records them in the signed
    ledger): credentials come from the environment, as the cloud SDKs read them."""
    masked = mask_url(text)
    if masked != text:
        raise InvalidInput(
            f"{masked} holds credentials, and lineal never {never}",
            hint=f"give the URL without them; {CREDENTIALS_FROM}",
        )


def anonymize_url(text: str) -> str:
    """``text`` with no user name or password in its URLs (as git's transport_anonymize_url), and
    secret query values hidden: a git remote recorded the same for every clone of it."""
    return mask_url(_USERINFO.sub(r"\g<scheme>://", text) if "://" in text else text)


def _pair(match: re.Match[str], found: list[str] | None) -> str:
    if not is_secret_name(match["name"]):
        return match[0]
    return f"{match['name']}{match['sep']}{_hide(match['value'], found)}"


def _header(match: re.Match[str], found: list[str] | None) -> str:
    scheme = f"{match['scheme']} " if match["scheme"] else ""
    value = match["value"].rstrip()
    hidden = _hide(value, found)
    return f"{match['name']}{match['sep']}{scheme}{hidden}{match['value'][len(value) :]}"


def _colon(match: re.Match[str], found: list[str] | None) -> str:
    name, value = match["name"], match["value"]
    if (
        name.lower() in _HEADER_NAMES  # done whole by _HEADER
        or not is_secret_name(name)
        or value.startswith("//")  # a URL's scheme, not a key
        # token:abc inside a line is a path or a label, not a key: want a space, quotes or the
        # start of the line (an argv item such as X-Api-Key:abc)
        or (not _line_start(match) and not match["q"] and not match["sep"].strip(":"))
    ):
        return match[0]
    return f"{match['q']}{name}{match['q']}{match['sep']}{_hide(value, found)}"


def _line_start(match: re.Match[str]) -> bool:
    return match.start() == 0 or match.string[match.start() - 1] == "\n"


def _spaced_flag(match: re.Match[str], found: list[str] | None) -> str:
    if not is_secret_name(match["name"]):
        return match[0]
    return f"{match['name']}{match['sep']}{_hide(match['value'], found)}"


def mask_text(text: str, known: Iterable[str] = (), found: list[str] | None = None) -> str:
    """``text`` with every secret lineal can recognise replaced by ``***``.

    Hidden: each of the ``known`` values (at least ``MIN_KNOWN`` characters), Authorization,
    Proxy-Authorization and Cookie header values, URL credentials (:func:`mask_url`), and the
    values of secret-looking names in ``NAME=VALUE`` (libpq's ``password=``, env assignments),
    ``NAME: VALUE`` (YAML, JSON, headers such as ``X-Api-Key``) and ``--flag VALUE``.
    """
    for value in sorted({v for v in known if _huntable(v)}, key=len, reverse=True):
        text = text.replace(value, HIDDEN)
    if ":" in text:
        text = _HEADER.sub(lambda m: _header(m, found), text)
    text = mask_url(text, found)
    if ":" in text:
        text = _COLON.sub(lambda m: _colon(m, found), text)
    if "-" in text:
        text = _SPACED_FLAG.sub(lambda m: _spaced_flag(m, found), text)
    return text


def _huntable(value: str) -> bool:
    """Whether to hide ``value`` wherever it is in free text: not when it is short, a number or
    a boolean (``--auth-retries 1000``, ``--use-auth true``), which would hide ordinary text."""
    if len(value) < MIN_KNOWN or value.lower() in ("true", "false", "yes", "no", "none", "null"):
        return False
    return _NUMBER.fullmatch(value) is None


def mask_output(data: bytes, known: Iterable[str] = ()) -> bytes:
    """:func:`mask_text` over a command's output; bytes that are not UTF-8 stay as they are."""
    text = data.decode("utf-8", "surrogateescape")
    masked = mask_text(text, known)
    return data if masked == text else masked.encode("utf-8", "surrogateescape")


def _mask_item(text: str, found: list[str] | None) -> str:
    assign = _WHOLE_ASSIGN.fullmatch(text)
    if assign and is_secret_name(assign[1]):
        return f"{assign[1]}={_hide(assign[2], found)}"
    return mask_text(text, found=found)


def mask_argv(argv: Sequence[str], found: list[str] | None = None) -> list[str]:
    """``argv`` with ``***`` for the values of secret-looking flags (``--token=X``, ``--token X``,
    ``-password X``) and ``KEY=VALUE`` pairs, and :func:`mask_text` over every other item
    (``-H "Authorization: Bearer X"``, URLs, DSNs). The hidden values go into ``found``.

    After a secret flag the next item is taken for its value unless it is a long flag.
    """
    masked: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next and not (arg.startswith("--") and len(arg) > 2):
            masked.append(_hide(arg, found) if arg else arg)
            hide_next = False
            continue
        flag = _FLAG.fullmatch(arg)
        hide_next = bool(flag and flag[2] is None and is_secret_name(flag[1]))
        if flag is None:
            masked.append(_mask_item(arg, found))
        elif flag[2] is None:
            masked.append(arg)
        else:
            value = _hide(flag[2], found) if is_secret_name(flag[1]) else _mask_item(flag[2], found)
            masked.append(f"{flag[1]}={value}")
    return masked


def secret_values(env: Mapping[str, str]) -> list[str]:
    """The values of ``env``'s secret-looking variables, to hide wherever they are printed (as
    CI systems mask their secrets in logs). Paths (``SSH_AUTH_SOCK``, ``PWD``) and values under
    8 characters are left out: hiding them would hide ordinary text."""
    return [
        value
        for name, value in env.items()
        if is_secret_name(name)
        and len(value) >= 8
        and not value.startswith(("/", "~", "./", "../"))
        and name not in ("PWD", "OLDPWD")
    ]


def mask_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with ``***`` for the text values of secret-looking names (nested too) and
    :func:`mask_text` over other text. Numbers and booleans stay: a ``token_limit`` of 512 is a
    hyperparameter, not a secret."""
    return {key: _mask_param(str(key), value) for key, value in params.items()}


def _mask_param(name: str, value: Any) -> Any:
    if isinstance(value, Mapping):
        return mask_params(value)
    if isinstance(value, list | tuple):
        return [_mask_param(name, item) for item in value]
    if not isinstance(value, str):
        return value
    return _hide(value, None) if is_secret_name(name) else mask_text(value)


def split_password(uri: str) -> tuple[str, str | None]:
    """``uri`` without its password (in ``user:password@`` or a ``password=`` query parameter)
    and the password (None when it has none), e.g. for a PostgreSQL store URI."""
    from urllib.parse import unquote, urlsplit, urlunsplit

    parts = urlsplit(uri)
    password = None
    netloc = parts.netloc
    userinfo, at, host = netloc.rpartition("@")
    if at and ":" in userinfo:
        user, _, raw = userinfo.partition(":")
        netloc = f"{user}@{host}" if user else host
        password = unquote(raw) or None
    # The rest of the query is kept byte for byte: libpq reads "+" as a plus, not a space.
    items = parts.query.split("&") if parts.query else []
    kept = [item for item in items if unquote(item.partition("=")[0]) != "password"]
    for item in items:
        if item not in kept:
            password = unquote(item.partition("=")[2]) or password
    if netloc == parts.netloc and kept == items:
        return uri, None
    return urlunsplit(parts._replace(netloc=netloc, query="&".join(kept))), password
