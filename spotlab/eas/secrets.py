"""Secrets in EAS configs: which keys hold them, masking for display, stripping for export.

``dockerAuth`` (registry credentials) and ``token`` (the service token) are secrets; so is
the value of any container ``env`` entry whose name looks like one (``*TOKEN*``,
``*SECRET*``, ``*PASSWORD*``, ``*ACCESS_KEY*``, ...). Anything spotlab prints goes through
:func:`mask_secrets`; :func:`strip_secrets` removes the top-level secret keys before a file
is written unless the caller asks to keep them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

SECRET_KEYS: tuple[str, ...] = ("dockerAuth", "token")
MASK = "****"
_SECRET_ENV = re.compile(
    r"TOKEN|SECRET|PASSW(OR)?D|ACCESS_?KEY|API_?KEY|PRIVATE_?KEY|CREDENTIAL|AUTH", re.IGNORECASE
)


def is_secret_env(name: str) -> bool:
    """True when an environment variable's name suggests its value is a secret."""
    return bool(_SECRET_ENV.search(name))


def mask_secrets(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a service JSON object with every secret value replaced by ``****``.

    >>> mask_secrets({"token": "abc", "metadata": {"name": "x"}})["token"]
    '****'
    """
    out = copy.deepcopy(dict(data))
    for key in SECRET_KEYS:
        if out.get(key) is not None:
            out[key] = MASK
    for container in out.get("containers") or []:
        if not isinstance(container, dict):
            continue
        for env in container.get("env") or []:
            secret = isinstance(env, dict) and is_secret_env(str(env.get("name", "")))
            if secret and env.get("value") not in (None, ""):
                env["value"] = MASK
    return out


def strip_secrets(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A copy without the top-level secret keys, and the keys removed."""
    out = dict(data)
    removed = [k for k in SECRET_KEYS if k in out]
    for k in removed:
        del out[k]
    return out, removed
