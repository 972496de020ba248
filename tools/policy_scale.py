"""A CloudFormation template of any size for the policy suite's scaling figures (``make bench``) and
its linearity test: blocks of ten resources that refer to each other the way real stacks do
(a function, its log group, its queue and event source mapping, an alarm, a topic subscription, a
bucket with its policy, a security group), so every rule follows references across the whole
template.

    python -m tools.policy_scale 20000 > big.template.json
"""

from __future__ import annotations

import json
import sys
from typing import Any

BLOCK = 10  # resources per block


def _block(i: int) -> dict[str, Any]:
    fn, queue, bucket, topic = f"Fn{i}", f"Queue{i}", f"Bucket{i}", f"Topic{i}"
    arn = {"Fn::GetAtt": [bucket, "Arn"]}
    return {
        fn: {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": {"Fn::Sub": f"${{AWS::StackName}}-fn-{i}"},
                "Timeout": 30,
                "TracingConfig": {"Mode": "Active"},
                "Role": "arn:aws:iam::123456789012:role/r",
            },
        },
        f"Logs{i}": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}-fn-{i}"}},
        },
        queue: {
            "Type": "AWS::SQS::Queue",
            "Properties": {"VisibilityTimeout": 180 if i % 2 else 60},
        },
        f"Source{i}": {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {"EventSourceArn": {"Fn::GetAtt": [queue, "Arn"]}, "FunctionName": {"Ref": fn}},
        },
        f"Alarm{i}": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "MetricName": "Errors",
                "Namespace": "AWS/Lambda",
                "Threshold": 1,
                **({"AlarmActions": [{"Ref": topic}]} if i % 3 else {}),
            },
        },
        topic: {"Type": "AWS::SNS::Topic", "Properties": {"KmsMasterKeyId": "alias/aws/sns"}},
        f"Permission{i}": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Fn::Sub": f"${{AWS::StackName}}-fn-{i}"},
                "Principal": "sns.amazonaws.com",
                "SourceArn": {"Ref": topic},
            },
        },
        bucket: {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                }
            },
        },
        f"Policy{i}": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": bucket},
                "PolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Deny",
                            "Principal": {"AWS": "*"},
                            "Action": "s3:*",
                            "Resource": [arn, {"Fn::Sub": f"${{{bucket}.Arn}}/*"}],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ]
                },
            },
        },
        f"Sg{i}": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "db",
                "SecurityGroupIngress": [
                    {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "CidrIp": "10.0.0.0/16"}
                ],
            },
        },
    }


def template(resources: int) -> dict[str, Any]:
    """A template of ``resources`` resources (rounded up to a whole block of ten)."""
    body: dict[str, Any] = {}
    for i in range(-(-resources // BLOCK)):
        body.update(_block(i))
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": body}


if __name__ == "__main__":
    json.dump(template(int(sys.argv[1])), sys.stdout)
