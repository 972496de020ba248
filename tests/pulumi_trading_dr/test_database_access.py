"""Who logs in to the ledger as whom, at synth level: the application role's secret and the
functions that read it, the master secret readable by the migration and the rotation only, the
migration run by pulumi up, and the master secret's rotation (components/migration.py,
components/rotation.py)."""

from __future__ import annotations

import json

import pytest

from pulumi_trading_dr.components.migration import migration_digest

PRIMARY, SECONDARY = "us-east-1", "us-west-2"
ACCOUNT = "123456789012"
FUNCTION = "aws:lambda/function:Function"
SECRET = "aws:secretsmanager/secret:Secret"
MASTER, APP = "trading-db-master-dev", "trading-db-app-dev"
LEDGER_USERS = ("order-processor", "health", "reconcile")  # the functions that log in as the application


def secret_arn(name, region):
    return f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{name}-AbCdEf"


def function(dr, base, region):
    role = "primary" if region == PRIMARY else "secondary"
    (found,) = [f for f in dr.of_type(FUNCTION) if f["inputs"]["name"] == f"trading-{base}-dev-{role}"]
    return found


def resources_of(statement):
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


def actions_of(statement):
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def key_arn(dr, region):
    (key,) = [k for k in dr.of_type("aws:kms/key:Key") if dr.region(k) == region]
    return f"arn:aws:kms:{region}:{ACCOUNT}:key/{key['id']}"


def test_the_two_secrets_are_generated_and_replicated_to_the_secondary_region(dr):
    """Fix: the application role's password is generated (pulumi-random) and kept in a secret of its
    own, encrypted with the primary region's key and replicated with the secondary's, like the
    master's; the value is a Pulumi secret (never in resources.json)."""
    secrets = {s["inputs"]["name"]: s for s in dr.of_type(SECRET)}
    assert set(secrets) == {MASTER, APP}
    for secret in secrets.values():
        assert dr.region(secret) == PRIMARY and secret["inputs"]["kmsKeyId"] == key_arn(dr, PRIMARY)
        assert secret["inputs"]["replicas"] == [{"kmsKeyId": key_arn(dr, SECONDARY), "region": SECONDARY}]
    app = dr.named("aws:secretsmanager/secretVersion:SecretVersion", "migration-app-secret-value")
    assert app["inputs"]["secretId"] == secrets[APP]["id"] and "ciphertext" in app["inputs"]["secretString"]
    (password,) = [
        p for p in dr.of_type("random:index/randomPassword:RandomPassword") if p["urn"] in app["dependencies"]
    ]
    assert dr.name_of(password) == "migration-app-password" and password["inputs"]["length"] >= 32


@pytest.mark.catalogue("trading-dr-13")
@pytest.mark.parametrize("region", [PRIMARY, SECONDARY])
@pytest.mark.parametrize("base", LEDGER_USERS)
def test_the_ledgers_users_log_in_with_the_application_secret_of_their_region(dr, base, region):
    """Fix: the order processor, the health route and the reconciliation are told the application
    secret's ARN in their region, may GetSecretValue on exactly that ARN, and on no other secret."""
    fn = function(dr, base, region)
    expected = secret_arn(APP, region)
    assert fn["inputs"]["environment"]["variables"]["DB_SECRET_ARN"] == expected
    grants = [
        s for s in dr.role_statements(fn) if any(a.startswith("secretsmanager:") for a in actions_of(s))
    ]
    assert grants == [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": expected}]


@pytest.mark.catalogue("trading-dr-09")
def test_only_the_migration_and_the_rotation_may_touch_the_master_secret(dr):
    """Fix: the master secret (either region's copy) is named in two roles' policies only, and no
    role has a Secrets Manager action on '*'."""
    masters = {secret_arn(MASTER, PRIMARY), secret_arn(MASTER, SECONDARY)}
    readers, wildcard = set(), []
    for fn in dr.of_type(FUNCTION):
        for statement in dr.role_statements(fn):
            text = json.dumps(statement)
            if any(arn in text for arn in masters):
                readers.add(fn["inputs"]["name"])
            if "secretsmanager:" in text and "*" in resources_of(statement):
                wildcard.append(fn["inputs"]["name"])
    assert readers == {"trading-migrate-dev-primary", "trading-rotation-dev-primary"}
    assert wildcard == []


def test_the_migration_reads_the_two_secrets_in_the_writers_region_and_nothing_else(dr):
    """Fix: the migrate function runs in the primary region's VPC (to the database), reads the
    master and the application secrets there (GetSecretValue on exactly those ARNs, the key through
    Secrets Manager only)."""
    fn = function(dr, "migrate", PRIMARY)
    assert [f["inputs"]["name"] for f in dr.of_type(FUNCTION) if "migrate" in f["inputs"]["name"]] == [
        "trading-migrate-dev-primary"
    ]
    env = fn["inputs"]["environment"]["variables"]
    assert env["MASTER_SECRET_ARN"] == secret_arn(MASTER, PRIMARY) and env["APP_SECRET_ARN"] == secret_arn(
        APP, PRIMARY
    )
    assert env["DB_HOST"] == "trading-db-dev-primary.cluster-mock.us-east-1.rds.amazonaws.com"
    own = [s for s in dr.role_statements(fn) if not s["Action"][0].startswith(("logs:", "xray:", "ec2:"))]
    assert own == [
        {
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": [secret_arn(MASTER, PRIMARY), secret_arn(APP, PRIMARY)],
        },
        {
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": key_arn(dr, PRIMARY),
            "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{PRIMARY}.amazonaws.com"}},
        },
    ]
    assert in_the_databases_reach(dr, fn)


def in_the_databases_reach(dr, fn):
    """The function is in its region's private subnets with a group the database admits on 5432."""
    groups = {g["id"]: g for g in dr.of_type("aws:ec2/securityGroup:SecurityGroup")}
    admitted = {
        r["inputs"]["referencedSecurityGroupId"]
        for r in dr.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if groups[r["inputs"]["securityGroupId"]]["inputs"]["name"].startswith("trading-database-")
        and r["inputs"]["fromPort"] == 5432
        and dr.region(r) == dr.region(fn)
    }
    (group,) = fn["inputs"]["vpcConfig"]["securityGroupIds"]
    return group in admitted and len(fn["inputs"]["vpcConfig"]["subnetIds"]) == 2


def test_pulumi_up_runs_the_migration_on_the_writer_and_again_when_it_changes(dr):
    """Fix: an aws.lambda_.Invocation of the migrate function (RequestResponse: its failure fails
    pulumi up) whose input is the digest of the migration's code (CREATE_ONLY: a new digest replaces
    the invocation, i.e. runs it again) and whose triggers re-run it for a new application password;
    after the whole database (both clusters, their instances, the master secret)."""
    (invocation,) = dr.of_type("aws:lambda/invocation:Invocation")
    inputs = invocation["inputs"]
    assert dr.region(invocation) == PRIMARY
    assert inputs["functionName"] == "trading-migrate-dev-primary"
    assert json.loads(inputs["input"]) == {"migration": migration_digest()}
    assert inputs.get("lifecycleScope", "CREATE_ONLY") == "CREATE_ONLY"
    version = dr.named("aws:secretsmanager/secretVersion:SecretVersion", "migration-app-secret-value")
    assert inputs["triggers"]["app_secret_version"] == version["id"]
    needed = {
        r["urn"]
        for r in dr.resources
        if dr.name_of(r)
        in {
            "aurora-primary",
            "aurora-primary-instance",
            "aurora-secondary-instance",
            "aurora-master-secret-value",
            "migration-function",
        }
    }
    assert len(needed) == 5 and needed <= set(invocation["dependencies"])


def test_the_migration_digest_changes_with_the_migration(tmp_path):
    from lambda_src.build import SRC

    source = SRC / "pulumi_trading_dr" / "migrate"
    copy = tmp_path / "migrate"
    copy.mkdir()
    for path in source.glob("*.py"):
        (copy / path.name).write_bytes(path.read_bytes())
    assert migration_digest(copy) == migration_digest()
    index = copy / "index.py"
    index.write_text(index.read_text().replace("INSERT", "INSERT, DELETE", 1))
    assert migration_digest(copy) != migration_digest()


def test_the_functions_that_use_the_ledger_wait_for_the_migration(dr):
    """Their tables and their login exist before they run (the processor's mapping is created on)."""
    migration = {
        r["urn"] for r in dr.resources if r["urn"].split("::")[2].startswith("trading:migration:Migration$")
    }
    assert (
        "urn:pulumi:dev::trading-dr::trading:migration:Migration$aws:lambda/invocation:Invocation::migration-run"
        in migration
    )
    for token in ("trading:orders:Orders", "trading:health:Health"):
        (component,) = dr.of_type(token)
        assert migration <= set(component["dependencies"]), token


@pytest.mark.catalogue("trading-dr-09")
def test_the_master_secret_rotates_every_30_days_with_its_own_function(dr):
    """Fix: a rotation schedule on the master secret (its primary copy: replicas follow), every 30
    days, by the rotation function, which only Secrets Manager may invoke and only for this secret;
    the schedule comes after the migration (its first rotation starts at once)."""
    master = dr.named(SECRET, "aurora-master-secret")
    (schedule,) = dr.of_type("aws:secretsmanager/secretRotation:SecretRotation")
    assert dr.region(schedule) == PRIMARY
    assert schedule["inputs"]["secretId"] == master["id"]
    assert schedule["inputs"]["rotationRules"] == {"automaticallyAfterDays": 30}
    assert (
        schedule["inputs"]["rotationLambdaArn"]
        == f"arn:aws:lambda:{PRIMARY}:{ACCOUNT}:function:trading-rotation-dev-primary"
    )
    (permission,) = [
        p
        for p in dr.of_type("aws:lambda/permission:Permission")
        if p["inputs"]["principal"] == "secretsmanager.amazonaws.com"
    ]
    assert permission["inputs"] == {
        "action": "lambda:InvokeFunction",
        "function": "trading-rotation-dev-primary",
        "principal": "secretsmanager.amazonaws.com",
        "sourceAccount": ACCOUNT,
        "sourceArn": secret_arn(MASTER, PRIMARY),
    }
    (invocation,) = dr.of_type("aws:lambda/invocation:Invocation")
    assert {invocation["urn"], permission["urn"]} <= set(schedule["dependencies"])
    alarm = dr.named("aws:cloudwatch/metricAlarm:MetricAlarm", "rotation-errors")
    assert alarm["inputs"]["dimensions"] == {"FunctionName": "trading-rotation-dev-primary"}
    assert dr.region(alarm) == PRIMARY


def test_the_rotation_role_touches_exactly_the_master_secret_and_its_keys(dr):
    """Fix: the four rotation actions on the master secret's ARN only; the primary key for this
    secret only (via Secrets Manager, its ARN as encryption context); the secondary key for the
    replica's copy of each new version; no RDS action (the password changes in SQL)."""
    fn = function(dr, "rotation", PRIMARY)
    assert fn["inputs"]["environment"]["variables"]["SECRET_ARN"] == secret_arn(MASTER, PRIMARY)
    own = [s for s in dr.role_statements(fn) if not actions_of(s)[0].startswith(("logs:", "xray:", "ec2:"))]

    def key(region, actions, arn):
        return {
            "Effect": "Allow",
            "Action": actions,
            "Resource": key_arn(dr, region),
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
                    "kms:EncryptionContext:SecretARN": arn,
                }
            },
        }

    assert own == [
        {
            "Effect": "Allow",
            "Action": [
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
            ],
            "Resource": secret_arn(MASTER, PRIMARY),
        },
        key(PRIMARY, ["kms:Decrypt", "kms:GenerateDataKey"], secret_arn(MASTER, PRIMARY)),
        key(SECONDARY, ["kms:Encrypt", "kms:GenerateDataKey"], secret_arn(MASTER, SECONDARY)),
    ]
    assert in_the_databases_reach(dr, fn)
