"""CloudFormation as CDK writes it for resources the payments stack does not have (an EventBridge rule's
inline targets, a state machine built with Fn::Join, a bucket's own notification and replication)."""

from __future__ import annotations

from diagrams.derive import build
from diagrams.sources import CloudFormation


def resource(cfn_type: str, path: str, **properties):
    return {"Type": cfn_type, "Properties": properties, "Metadata": {"aws:cdk:path": f"app/{path}/Resource"}}


TEMPLATE = {
    "Resources": {
        "Fn": resource("AWS::Lambda::Function", "Compute/Worker"),
        "Queue": resource("AWS::SQS::Queue", "Queues/Dlq"),
        "Topic": resource("AWS::SNS::Topic", "Events/Uploaded"),
        "Replica": resource("AWS::S3::Bucket", "Data/Replica"),
        "Bucket": resource(
            "AWS::S3::Bucket",
            "Data/Uploads",
            NotificationConfiguration={
                "TopicConfigurations": [{"Event": "s3:ObjectCreated:*", "Topic": {"Ref": "Topic"}}]
            },
            ReplicationConfiguration={
                "Rules": [
                    {"Destination": {"Bucket": {"Fn::GetAtt": ["Replica", "Arn"]}}, "Status": "Enabled"}
                ]
            },
        ),
        "Machine": resource(
            "AWS::StepFunctions::StateMachine",
            "Flow/Machine",
            DefinitionString={
                "Fn::Join": [
                    "",
                    ['{"StartAt":"A","States":{"A":{"Resource":"', {"Fn::GetAtt": ["Fn", "Arn"]}, '"}}}'],
                ]
            },
        ),
        "Rule": resource(
            "AWS::Events::Rule",
            "Flow/Nightly",
            ScheduleExpression="rate(1 day)",
            Targets=[
                {"Arn": {"Fn::Sub": "${Machine}"}, "DeadLetterConfig": {"Arn": {"Fn::GetAtt": "Queue.Arn"}}}
            ],
        ),
    }
}


def test_cdk_shapes_of_the_same_wiring():
    g = build(CloudFormation("app", TEMPLATE))
    assert g.edge("Nightly", "Machine").label == "target"  # inline target, through Fn::Sub
    assert g.edge("Nightly", "Dlq").label == "undeliverable events"  # GetAtt in its dotted form
    assert g.edge("Machine", "Worker").label == "task"  # a definition of intrinsics: no state names
    assert g.edge("Uploads", "Uploaded").label == "ObjectCreated:*"
    assert g.edge("Uploads", "Replica").label == "replication"
    assert {n.component for n in g.nodes.values()} == {"Compute", "Queues", "Events", "Data", "Flow"}
