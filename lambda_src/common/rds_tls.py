"""TLS to Amazon RDS and Aurora PostgreSQL that verifies the server, for psycopg2 (libpq).

``sslmode=require`` encrypts but accepts any certificate, so a host that answers in the database's
place gets the password. ``verify-full`` checks that the server's certificate chains to an RDS
certificate authority (AWS's bundle, shipped beside this module in the shared layer; provenance in
rds-ca-bundle.md) and that it names the host connected to (the cluster endpoint in the secret).
"""

from __future__ import annotations

from pathlib import Path

BUNDLE = Path(__file__).resolve().with_name("rds-ca-bundle.pem")


def verify_full_options() -> dict[str, str]:
    """libpq connection options: TLS required, server certificate and host name verified."""
    return {"sslmode": "verify-full", "sslrootcert": str(BUNDLE)}
