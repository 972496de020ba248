"""Minimal documents in the three formats, written as the tools write them, for rule fixtures."""

from __future__ import annotations

import json
from typing import Any

from policies.loaders.cloudformation import CloudFormationDocument
from policies.loaders.pulumi import SECRET_SIG, SIG, from_export
from policies.loaders.terraform import TerraformDocument
from policies.model import Document

TAGS = {"environment": "dev", "project": "demo"}
SECRET = {SIG: SECRET_SIG, "ciphertext": "AAABAKz..."}  # a Pulumi secret as `pulumi stack export` writes it


def cfn(resources: dict[str, Any], *, tags: dict[str, str] | None = None, **template: Any) -> Document:
    """A template: ``{"Queue": ("AWS::SQS::Queue", {...properties})}``; stack tags as CDK passes them."""
    body = {
        "Resources": {
            logical_id: {"Type": type_, "Properties": properties}
            for logical_id, (type_, properties) in resources.items()
        },
        **template,
    }
    json.dumps(body)  # only JSON, as a template file holds
    return CloudFormationDocument(
        stack="demo-dev", path="<test>", template=body, stack_tags=TAGS if tags is None else tags
    )


def tf(
    resources: dict[str, dict[str, Any]],
    *,
    tags: dict[str, str] | None = None,
    data: dict[str, Any] | None = None,
    **config: Any,
) -> Document:
    """A cdk.tf.json: ``{"aws_sqs_queue": {"queue": {...}}}`` with provider default tags."""
    body = {
        "provider": {
            "aws": [{"region": "us-east-1", "default_tags": [{"tags": TAGS if tags is None else tags}]}]
        },
        "resource": resources,
        **({"data": data} if data else {}),
        **config,
    }
    json.dumps(body)
    return TerraformDocument(stack="demo-dev", path="<test>", config=body)


def pulumi_export(
    resources: list[tuple[str, str, dict[str, Any]]],
    *,
    tags: dict[str, str] | None = None,
    outputs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An export (version 3): ``[(type, name, inputs)]``, ids ``<name>-id``, one AWS provider."""
    stack, project = "dev", "demo"
    prefix = f"urn:pulumi:{stack}::{project}::"
    provider = f"{prefix}pulumi:providers:aws::aws"
    provider_inputs = {"region": "us-east-1"}
    if tags is None or tags:
        provider_inputs["defaultTags"] = json.dumps({"tags": TAGS if tags is None else tags})
    entries: list[dict[str, Any]] = [
        {
            "urn": f"{prefix}pulumi:pulumi:Stack::{project}-{stack}",
            "type": "pulumi:pulumi:Stack",
            "custom": False,
            "outputs": outputs or {},
        },
        {
            "urn": provider,
            "type": "pulumi:providers:aws",
            "custom": True,
            "id": "aws-id",
            "inputs": provider_inputs,
        },
    ]
    for type_, name, inputs in resources:
        entries.append(
            {
                "urn": f"{prefix}{type_}::{name}",
                "type": type_,
                "custom": True,
                "id": f"{name}-id",
                "inputs": inputs,
                "provider": f"{provider}::aws-id",
                "dependencies": [],
            }
        )
    return {"version": 3, "deployment": {"manifest": {}, "resources": entries}}


def pulumi(resources: list[tuple[str, str, dict[str, Any]]], **kwargs: Any) -> Document:
    return from_export(json.loads(json.dumps(pulumi_export(resources, **kwargs))))
