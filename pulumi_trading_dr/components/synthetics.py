"""Synthetics: CloudWatch canaries that call the deep health route like a client would, and their alarms.

- Each region's canary calls its own region's ``/v1/health?role=any`` (alive in its role, writer
  or standby) every ``canaryRateMinutes``.
- The secondary region runs the two probes the failover decision reads, every
  ``probeRateMinutes`` (they bound the detection time, README "Failure timeline"), from outside
  the region that may be down: ``probe-primary`` calls the PRIMARY's ``/v1/health?role=any``;
  ``verdict`` resolves ``primary-verdict.<apiDomainName>``, which answers what Route 53's health
  checkers in several locations conclude about the primary (route53.py). Two independent paths:
  the failover quorum (monitoring.py) needs both.
- The script is Python (lambda_src/pulumi_trading_dr/canary/health_check.py, zipped by
  lambda_src/build.py as ``python/health_check.py`` into a file named after the zip's sha256, so
  an edited script is redeployed) on a current ``syn-python-selenium`` runtime
  from config: the runtime matches the script's language (trading-dr-24; the seed's
  ``syn-nodejs-puppeteer-6.0`` is deprecated and cannot be created).
- An alarm per canary on SuccessPercent with the region's topic as action (trading-dr-25). A
  self-check that stops reporting is breaching (someone should look); the probe that feeds the
  failover is not (missing data must never fail over a database).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from lambda_src.build import canary_zip
from pulumi_trading_dr.components.api import Api
from pulumi_trading_dr.components.functions import trust_policy
from pulumi_trading_dr.components.keys import Keys
from pulumi_trading_dr.components.region import Region, Regions
from pulumi_trading_dr.components.route53 import VERDICT_HEALTHY, Route53
from pulumi_trading_dr.components.s3 import private_bucket
from pulumi_trading_dr.components.sns import Sns
from pulumi_trading_dr.config import TradingConfig

PROJECT_DIR = Path(__file__).resolve().parents[1]
CANARY_SCRIPT = "health_check"
SUCCESS_THRESHOLD = 90  # percent
# Consecutive failed periods before a failover signal alarms: one failed run is not a region lost.
PROBE_EVALUATIONS = 3


@dataclass(frozen=True)
class SyntheticsArgs:
    config: TradingConfig
    regions: Regions
    keys: Keys
    api: Api
    route53: Route53
    sns: Sns
    account_id: pulumi.Input[str]


@dataclass(frozen=True)
class Probe:
    key: str  # "primary", "secondary", "probe-primary", "verdict"
    runs_in: Region
    checks: Region
    feeds_failover: bool
    verdict: str | None = None  # resolve this name (Route 53's verdict) instead of calling the API


class Synthetics(pulumi.ComponentResource):
    def __init__(self, name: str, args: SyntheticsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trading:synthetics:Synthetics", name, None, opts)
        self._name, self._args = name, args
        primary, secondary = args.regions.primary, args.regions.secondary
        self.probes = probes = [
            Probe("primary", primary, primary, feeds_failover=False),
            Probe("secondary", secondary, secondary, feeds_failover=False),
            Probe("probe-primary", secondary, primary, feeds_failover=True),
            Probe("verdict", secondary, primary, feeds_failover=True, verdict=args.route53.verdict_name),
        ]
        self._buckets = {region.role: self._artifacts(region) for region in args.regions}
        self._roles = {region.role: self._role(region) for region in args.regions}
        self.canaries: dict[str, aws.synthetics.Canary] = {}
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        for probe in probes:
            self.canaries[probe.key], self.alarms[probe.key] = self._canary(probe)
        # The failover decision's two signals (monitoring.py combines them).
        self.failover_alarms = [self.alarms["probe-primary"], self.alarms["verdict"]]
        self.register_outputs({key: canary.name for key, canary in self.canaries.items()})

    def rate_minutes(self, probe: Probe) -> int:
        """How often the canary runs: the failover's two signals bound detection; the rest watch."""
        config = self._args.config
        return config.probe_rate_minutes if probe.feeds_failover else config.canary_rate_minutes

    def callers_of(self, region: Region) -> list[Probe]:
        """The canaries that call this region's API (the verdict canary resolves DNS only)."""
        return [probe for probe in self.probes if probe.checks.role == region.role and not probe.verdict]

    def _artifacts(self, region: Region) -> aws.s3.Bucket:
        config = self._args.config
        bucket, _ = private_bucket(
            f"{self._name}-{region.role}-artifacts",
            pulumi.Output.concat(config.name("canary"), "-", self._args.account_id, "-", region.name),
            region,
            self._args.keys.key(region),
            self,
            prod=config.is_production,
            expire_days=30,  # screenshots and logs of canary runs
        )
        return bucket

    def _role(self, region: Region) -> aws.iam.Role:
        config, key = self._args.config, self._args.keys.key(region)
        bucket = self._buckets[region.role]
        role = aws.iam.Role(
            f"{self._name}-{region.role}-role",
            name=config.name("canary", region.settings),
            assume_role_policy=trust_policy("lambda"),
            opts=region.opts(self),
        )
        aws.iam.RolePolicy(
            f"{self._name}-{region.role}-policy",
            role=role.id,
            name="canary",
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "s3:PutObject",
                            "Resource": pulumi.Output.concat(bucket.arn, "/*"),
                        },
                        {"Effect": "Allow", "Action": "s3:GetBucketLocation", "Resource": bucket.arn},
                        {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
                        {
                            "Effect": "Allow",
                            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                            "Resource": key.arn,
                        },
                        {
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                            "Resource": pulumi.Output.concat(
                                "arn:aws:logs:",
                                region.name,
                                ":",
                                self._args.account_id,
                                ":log-group:/aws/lambda/cwsyn-*",
                            ),
                        },
                        {
                            "Effect": "Allow",
                            "Action": "cloudwatch:PutMetricData",
                            "Resource": "*",  # PutMetricData takes no resource; the namespace is pinned
                            "Condition": {"StringEquals": {"cloudwatch:namespace": "CloudWatchSynthetics"}},
                        },
                        {"Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"},
                    ],
                }
            ),
            opts=region.opts(self),
        )
        return role

    def _canary(self, probe: Probe) -> tuple[aws.synthetics.Canary, aws.cloudwatch.MetricAlarm]:
        args, config, region = self._args, self._args.config, probe.runs_in
        prefix = f"{self._name}-{probe.key}"
        bucket = self._buckets[region.role]
        rate = self.rate_minutes(probe)
        canary = aws.synthetics.Canary(
            prefix,
            name=f"trading-{config.env}-{probe.key}",
            runtime_version=config.canary_runtime,
            handler=f"{CANARY_SCRIPT}.handler",
            # Relative to the project folder, where `pulumi up` runs: the same text on every machine.
            # The file name carries the zip's sha256: the provider diffs this path, not the file,
            # so an edited script must make a new path to be deployed.
            zip_file=os.path.relpath(canary_zip("pulumi_trading_dr", CANARY_SCRIPT), PROJECT_DIR),
            # The canary's Lambda function and layer go with it; by default a destroy leaves them.
            delete_lambda=True,
            execution_role_arn=self._roles[region.role].arn,
            artifact_s3_location=pulumi.Output.concat("s3://", bucket.bucket, "/", probe.key, "/"),
            artifact_config=aws.synthetics.CanaryArtifactConfigArgs(
                s3_encryption=aws.synthetics.CanaryArtifactConfigS3EncryptionArgs(
                    encryption_mode="SSE_KMS", kms_key_arn=args.keys.key(region).arn
                )
            ),
            schedule=aws.synthetics.CanaryScheduleArgs(expression=_rate(rate)),
            run_config=aws.synthetics.CanaryRunConfigArgs(
                timeout_in_seconds=min(60, rate * 60),  # a run ends before the next one starts
                active_tracing=False,  # X-Ray tracing is for Node.js runtimes only
                environment_variables=(
                    {"VERDICT_NAME": probe.verdict, "HEALTHY_ADDRESS": VERDICT_HEALTHY}
                    if probe.verdict
                    else {
                        "TARGET_URL": args.api.of(probe.checks).liveness_url,
                        "EXPECTED_REGION": probe.checks.name,
                    }
                ),
            ),
            start_canary=True,
            success_retention_period=7,
            failure_retention_period=30,
            opts=region.opts(self),
        )
        what = (
            f"Route 53's verdict on the {probe.checks.role} API ({probe.verdict})"
            if probe.verdict
            else f"/health of the {probe.checks.role} API"
        )
        alarm = aws.cloudwatch.MetricAlarm(
            f"{prefix}-alarm",
            name=config.name(f"canary-{probe.key}"),
            alarm_description=f"{what}, seen from {region.name}: "
            f"fewer than {SUCCESS_THRESHOLD}% of canary runs succeed",
            namespace="CloudWatchSynthetics",
            metric_name="SuccessPercent",
            dimensions={"CanaryName": canary.name},
            statistic="Average",
            period=rate * 60,
            evaluation_periods=PROBE_EVALUATIONS if probe.feeds_failover else 2,
            datapoints_to_alarm=PROBE_EVALUATIONS if probe.feeds_failover else 2,
            threshold=SUCCESS_THRESHOLD,
            comparison_operator="LessThanThreshold",
            treat_missing_data="notBreaching" if probe.feeds_failover else "breaching",
            alarm_actions=[args.sns.topic(region).arn],  # trading-dr-25
            ok_actions=[args.sns.topic(region).arn],
            opts=region.opts(self),
        )
        return canary, alarm


def _rate(minutes: int) -> str:
    return "rate(1 minute)" if minutes == 1 else f"rate({minutes} minutes)"
