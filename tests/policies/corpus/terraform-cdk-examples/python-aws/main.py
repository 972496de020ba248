# Copyright (c) HashiCorp, Inc.
# SPDX-License-Identifier: MPL-2.0
#
# examples/python/aws/main.py of hashicorp/terraform-cdk at a0c56138e2b4c7b6c128bd7ba08a8e317df852af,
# written against CDK Terrain: `cdktf` -> `cdktn` (0.24.0), the generated `imports.aws.*` ->
# cdktn_provider_aws (25.8.1), the generated `imports.vpc.Vpc` (terraform-aws-modules/vpc/aws@2.77.0,
# its cdktf.json) -> TerraformHclModule with the same source, version and inputs. Nothing else changed.
# Synthesized by the command in ../SOURCES.toml into cdk.tf.json.

from constructs import Construct
from cdktn import App, TerraformHclModule, TerraformStack
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.lambda_function import LambdaFunction
from cdktn_provider_aws.provider import AwsProvider
from cdktn_provider_aws.sns_topic import SnsTopic


class MyStack(TerraformStack):
    def __init__(self, scope: Construct, ns: str):
        super().__init__(scope, ns)

        AwsProvider(self, 'Aws', region='eu-central-1')

        TerraformHclModule(self, 'CustomVpc',
            source='terraform-aws-modules/vpc/aws',
            version='2.77.0',
            variables={
                'name': 'custom-vpc',
                'cidr': '10.0.0.0/16',
                'azs': ["us-east-1a", "us-east-1b"],
                'public_subnets': ["10.0.1.0/24", "10.0.2.0/24"],
            })
        SnsTopic(self, 'Topic', display_name='my-first-sns-topic')
        role = IamRole(self, 'Role', name='lambda-role',
                       assume_role_policy='{}')
        LambdaFunction(self, 'Lambda', function_name='my-first-lambda-function',
                       role=role.arn, handler='index.handler', runtime='python3.6')


app = App()
MyStack(app, "python-aws")

app.synth()
