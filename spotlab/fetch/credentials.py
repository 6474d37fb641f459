"""Credentials for ``spotlab fetch``: the providers' standard chains only, never stored.

- **Alibaba Cloud**: the default credential provider chain of ``alibabacloud-credentials``
  (environment ``ALIBABA_CLOUD_ACCESS_KEY_ID`` / ``ALIBABA_CLOUD_ACCESS_KEY_SECRET`` [+
  ``ALIBABA_CLOUD_SECURITY_TOKEN``], OIDC role, the CLI's ``~/.aliyun/config.json``, the
  credentials file ``~/.alibabacloud/credentials.ini``, the ECS instance RAM role). With a
  profile name: that profile of the CLI config, then of the credentials file.
- **AWS**: boto3's chain (environment, ``~/.aws/credentials`` and ``config``, SSO, container
  and instance roles); a profile name picks a profile of the shared files.

spotlab never reads a secret itself: it hands the SDK a credentials client, asks it once
whether credentials resolve (so that "no credentials" is told before any request), and
keeps nothing. No secret reaches the database, the raw pages, the output or an error.
"""

from __future__ import annotations

from typing import Any

from alibabacloud_credentials.client import Client as AlibabaCredentials
from alibabacloud_credentials.exceptions import CredentialException
from alibabacloud_credentials.provider import (
    CLIProfileCredentialsProvider,
    ProfileCredentialsProvider,
)
from alibabacloud_credentials.provider.refreshable import Credentials
from alibabacloud_credentials_api import ICredentialsProvider

ALIBABA_HOW = (
    "set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or configure a "
    "profile (`aliyun configure`, or ~/.alibabacloud/credentials.ini) and pass --profile, or "
    "run on an ECS instance with a RAM role"
)
AWS_HOW = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or configure a profile (`aws configure`) "
    "and pass --profile, or run with an instance or container role"
)


class _NamedProfile(ICredentialsProvider):
    """One named profile: the Alibaba Cloud CLI's config first, then the credentials file
    (the two profile sources of the default chain, with the name given)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._chain = [
            CLIProfileCredentialsProvider(profile_name=name),
            ProfileCredentialsProvider(profile_name=name),
        ]

    def get_credentials(self) -> Credentials:
        for provider in self._chain:
            try:
                return provider.get_credentials()
            except CredentialException:
                continue
        raise CredentialException(f"no profile {self.name!r} in the CLI config or credentials file")

    async def get_credentials_async(self) -> Credentials:
        return self.get_credentials()

    def get_provider_name(self) -> str:
        return f"profile:{self.name}"


class NoCredentials(Exception):
    """The chain found no credentials. Its text is only the SDK's exception type: the
    SDK's own message may quote configuration."""


def alibaba_credentials(profile: str | None) -> AlibabaCredentials:
    """A credentials client over the default chain (or one profile), checked to resolve."""
    provider = None if profile is None else _NamedProfile(profile)
    client = AlibabaCredentials(provider=provider)
    failed: str | None = None
    try:
        got = client.get_credential()
    except CredentialException as exc:
        # raised outside this block: the chain's text (it may quote configuration) is
        # neither the cause nor the context of the error the user sees
        failed = type(exc).__name__
    if failed is not None:
        raise NoCredentials(failed)
    if not got.access_key_id and not got.bearer_token:
        raise NoCredentials("empty")
    return client


def aws_session(profile: str | None, region: str | None) -> Any:
    """A boto3 session over the standard chain (or one profile), checked to resolve."""
    import boto3
    import botocore.exceptions

    failed: str | None = None
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
        found = session.get_credentials()
    except botocore.exceptions.BotoCoreError as exc:  # ProfileNotFound, a broken config
        failed = type(exc).__name__
    if failed is not None:
        raise NoCredentials(failed)
    if found is None:
        raise NoCredentials("none")
    return session
