"""pulumi_offline.FakeAws: the data sources the programs read, answered as a plain account would
(Availability Zones per provider region, the public hosted zone the config declares)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest

import pulumi_offline
from pulumi_offline import FakeAws, declared_hosted_zones

PROJECT_DIR = pulumi_offline.ROOT / "pulumi_trading_dr"


def outputs_of(program, fake: FakeAws) -> dict:
    document = pulumi_offline.run(PROJECT_DIR, "dev", {}, program, fake=fake)
    return document["deployment"]["resources"][0]["outputs"]


def test_the_config_declares_the_public_zones_the_mock_knows():
    config = {
        "trading-dr:hostedZoneId": "Z1",
        "trading-dr:apiDomainName": "api.dr.example.com",
        "other:hostedZoneId": "Z2",  # no apiDomainName beside it: no zone name to answer
    }
    assert declared_hosted_zones(config) == {"Z1": "dr.example.com"}


def test_availability_zones_are_answered_in_the_invoking_providers_region():
    def program():
        provider = aws.Provider("aws-frankfurt", region="eu-central-1")
        zones = aws.get_availability_zones(state="available", opts=pulumi.InvokeOptions(provider=provider))
        return {"names": zones.names, "ids": zones.zone_ids}

    outputs = outputs_of(program, FakeAws("us-east-1"))
    assert outputs["names"] == [f"eu-central-1{letter}" for letter in "abcd"]
    assert all(zone_id.startswith("euc1-az") for zone_id in outputs["ids"])
    assert outputs["ids"] != sorted(outputs["ids"])  # letters are not zone IDs


def test_a_declared_zone_is_public_and_any_other_is_not_found():
    def program():
        provider = aws.Provider("aws-primary", region="us-east-1")
        zone = aws.route53.get_zone(zone_id="Z1", opts=pulumi.InvokeOptions(provider=provider))
        return {"name": zone.name, "private": zone.private_zone}

    assert outputs_of(program, FakeAws("us-east-1", {"Z1": "dr.example.com"})) == {
        "name": "dr.example.com",
        "private": False,
    }
    with pytest.raises(Exception, match="getZone failed: NoSuchHostedZone: No hosted zone found with ID: Z1"):
        outputs_of(program, FakeAws("us-east-1", {}))
