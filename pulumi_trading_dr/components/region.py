"""A region of the stack: its role (primary or secondary), name, network range and the explicit
provider every resource in it uses (no default provider: Pulumi.<stack>.yaml disables it)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pulumi_trading_dr.config import RoleSettings


@dataclass(frozen=True)
class Region:
    settings: RoleSettings
    provider: aws.Provider

    @property
    def role(self) -> str:
        return self.settings.role

    @property
    def name(self) -> str:
        return self.settings.region

    def opts(self, parent: pulumi.Resource, **options) -> pulumi.ResourceOptions:
        """Options for a child of ``parent`` in this region."""
        return pulumi.ResourceOptions(parent=parent, provider=self.provider, **options)


@dataclass(frozen=True)
class Regions:
    primary: Region
    secondary: Region

    def __iter__(self):
        return iter((self.primary, self.secondary))

    def other(self, region: Region) -> Region:
        return self.secondary if region is self.primary else self.primary
