"""Preflight: what a deploy needs from the account and the settings, checked before anything is
created, one line per check (``make preflight-<stack>``; every ``make deploy-<stack>`` runs it first).

    python -m preflight cdk_payments [--env dev] [-- CDK_ARGS...]
    python -m preflight cdktf_transactions [--env dev]          # settings: TRANSACTIONS_* variables
    python -m preflight pulumi_fraud_pipeline [--stack dev] [-- PULUMI_ARGS...]
    python -m preflight pulumi_trading_dr [--stack dev] [-- PULUMI_ARGS...]

Read-only AWS calls with boto3 and the credentials the deploy would use: who they are and the
region the stack deploys to; API Gateway's CloudWatch Logs role in each region of an API stack; the
CDK bootstrap version (payments); the hosted zone (trading DR); the Terraform state (transactions);
no example value left in the settings. Exit 0 when every check passed, 1 when one failed (the
report says how to fix each), 2 when the settings themselves are malformed (one line, the stack's
own ConfigError).
"""
