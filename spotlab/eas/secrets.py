"""Secrets in EAS configs: where they are, masking for display, stripping for export.

A secret is found wherever it sits in the JSON, known key or not (:func:`find_secrets`):

- ``dockerAuth`` (registry credentials) and ``token`` (the service token) at the top;
- any key whose name says secret (``Token``, ``docker_auth``, ``password``, ``AccessKeySecret``,
  ... : :func:`is_secret_name`) holding a non-empty string;
- the value of a container ``env`` entry whose name says secret (``HF_TOKEN``,
  ``DB_PASSWORD``, ``*_ACCESS_KEY``, ...);
- credentials inside a string: ``user:password@`` before a registry or URL host
  (``user:pass@registry/ns/app:1``, ``https://u:p@host/``), and values shaped like known
  access keys and tokens (``hf_…``, ``ghp_…``, ``AKIA…``, ``LTAI…``, ``sk-…``).

Anything spotlab shows goes through :func:`mask_secrets`; :func:`strip_secrets` removes
every secret before a file is written unless the caller asks to keep them. Values are never
echoed: findings and errors name the JSON path only.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from spotlab.eas.model import child_path

SECRET_KEYS: tuple[str, ...] = ("dockerAuth", "token")
MASK = "****"
_SECRET_NAME = re.compile(
    r"TOKEN|SECRET|PASSW(OR)?D|ACCESS_?KEY|API_?KEY|PRIVATE_?KEY|CREDENTIAL|DOCKER_?AUTH|"
    r"(^|_)AUTH($|_)",
    re.IGNORECASE,
)
#: ``user:password@`` right before a host: an image reference or a URL with credentials
_USERINFO = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*://)?(?P<info>[^\s/@:]+:[^\s/@]+)@(?=\S)")
#: values shaped like well-known access keys and tokens
_TOKEN_SHAPES = re.compile(
    r"\b(hf_[A-Za-z0-9]{30,}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,}|"
    r"AKIA[0-9A-Z]{16}|LTAI[0-9A-Za-z]{12,30}|sk-[A-Za-z0-9_-]{20,}|xox[abpr]-[A-Za-z0-9-]{10,})\b"
)

Kind = Literal["key", "env", "credentials", "token-shaped"]


@dataclass(frozen=True)
class Secret:
    """Where a secret is: its JSON path (``$.containers[0].env[1].value``) and how it was
    recognised; ``name`` is the key or variable name (never the value)."""

    path: str
    kind: Kind
    name: str

    def describe(self) -> str:
        what = {
            "key": f"key {self.name!r} holds a secret",
            "env": f"environment variable {self.name!r} holds a secret",
            "credentials": "a user name and password are written into this value",
            "token-shaped": "this value looks like an access key or token",
        }
        return what[self.kind]


def _normal(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).replace("-", "_").replace(".", "_")


def is_secret_name(name: str) -> bool:
    """True when a key or environment variable name says its value is a secret.

    >>> [is_secret_name(n) for n in ("HF_TOKEN", "Token", "docker_auth", "dockerAuth",
    ...                               "MODEL_DIR", "author", "enable_webservice")]
    [True, True, True, True, False, False, False]
    """
    return bool(_SECRET_NAME.search(_normal(name)))


#: kept for callers of the old name
is_secret_env = is_secret_name


def _string_secret(value: str) -> Kind | None:
    if _USERINFO.match(value):
        return "credentials"
    if _TOKEN_SHAPES.search(value):
        return "token-shaped"
    return None


def find_secrets(data: Any, root: str = "$") -> list[Secret]:
    """Every secret in a parsed config, in document order (see the module docstring)."""
    found: list[Secret] = []
    stack: list[tuple[str, str, Any, Any]] = [(root, "", data, None)]
    while stack:
        path, key, node, parent = stack.pop()
        if isinstance(node, Mapping):
            if _is_env_entry(node):
                name = str(node["name"])
                if is_secret_name(name) and node.get("value") not in (None, ""):
                    found.append(Secret(child_path(path, "value"), "env", name))
                    continue
            items = list(node.items())
            stack.extend((child_path(path, str(k)), str(k), v, node) for k, v in items[::-1])
        elif isinstance(node, list):
            stack.extend((f"{path}[{i}]", key, v, node) for i, v in list(enumerate(node))[::-1])
        elif isinstance(node, str) and node:
            named = key and isinstance(parent, Mapping) and is_secret_name(key)
            top = path in {child_path(root, k) for k in SECRET_KEYS}
            if named or top:
                found.append(Secret(path, "key", key))
            elif kind := _string_secret(node):
                found.append(Secret(path, kind, key))
        elif node is not None and path in {child_path(root, k) for k in SECRET_KEYS}:
            found.append(Secret(path, "key", key))
    return found


def _is_env_entry(node: Mapping[str, Any]) -> bool:
    return isinstance(node.get("name"), str) and set(node) <= {"name", "value"}


def _apply(data: Mapping[str, Any], drop: bool) -> tuple[dict[str, Any], list[str]]:
    out = copy.deepcopy(dict(data))
    secrets = find_secrets(out)
    removed: list[str] = []
    for s in secrets[::-1]:  # from the end: list indices stay valid while entries go
        parent, last = _locate(out, s.path)
        if s.kind == "credentials":
            m = _USERINFO.match(parent[last])
            assert m is not None
            scheme, rest = m["scheme"] or "", parent[last][m.end() :]
            parent[last] = f"{scheme}{rest}" if drop else f"{scheme}{MASK}@{rest}"
            removed.append(s.path)
        elif not drop:
            parent[last] = MASK
        elif isinstance(parent, Mapping) and _is_env_entry(parent):
            # the whole variable goes (a masked value would deploy): pass it at deploy time
            entry = s.path.rsplit(".", 1)[0]
            holder, index = _locate(out, entry)
            del holder[index]
            removed.append(f"{entry} ({parent['name']})")
        else:
            del parent[last]
            removed.append(s.path)
    return out, removed[::-1]


def _locate(data: Any, path: str) -> tuple[Any, Any]:
    """(container, key or index) of a ``$.a[1].b`` / ``$["odd key"]`` path in ``data``."""
    parts = re.findall(r'\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]', path[1:])
    keys: list[Any] = []
    for name, index, quoted in parts:
        if name:
            keys.append(name)
        elif index:
            keys.append(int(index))
        else:
            keys.append(json.loads(quoted))
    node = data
    for k in keys[:-1]:
        node = node[k]
    return node, keys[-1]


def mask_secrets(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a config object with every secret value replaced by ``****`` (the
    credentials of an image reference: ``****@registry/...``).

    >>> mask_secrets({"token": "abc", "metadata": {"name": "x"}})["token"]
    '****'
    >>> mask_secrets({"containers": [{"image": "u:p@reg.example.com/a:1"}]})["containers"]
    [{'image': '****@reg.example.com/a:1'}]
    """
    return _apply(data, drop=False)[0]


def strip_secrets(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A copy without any secret, and the JSON paths of what was removed: secret keys and
    secret environment variables are deleted, credentials cut out of image references."""
    return _apply(data, drop=True)
