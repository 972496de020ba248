"""common/rds_tls.py and the RDS CA bundle beside it: the server verification every client of RDS
or Aurora in this repo uses (the payments rotation function; the trading DR stack later)."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys

import pytest
from common import rds_tls

from lambda_src.build import LAYER_DIR, build

# The CA identifiers an RDS/Aurora instance may use and the subject each root carries.
ROOT_CAS = {
    "rds-ca-rsa2048-g1": "Root CA RSA2048 G1",
    "rds-ca-rsa4096-g1": "Root CA RSA4096 G1",
    "rds-ca-ecc384-g1": "Root CA ECC384 G1",
}
REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")


def bundle_subjects() -> list[str]:
    """Common names of the CAs python's ssl module loads from the bundle (it fails on a bad PEM)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(rds_tls.BUNDLE))
    return [dict(rdn[0] for rdn in ca["subject"])["commonName"] for ca in context.get_ca_certs()]


def test_the_bundle_parses_and_holds_the_three_rds_root_cas_for_each_region():
    """Fix: rotation verifies Aurora against AWS's RDS CAs: the vendored bundle loads in python's ssl
    module and holds, per region, the roots of rds-ca-rsa2048-g1 (the default), -rsa4096-g1 and
    -ecc384-g1; nothing in it but those (87 roots, rds-ca-bundle.md)."""
    subjects = bundle_subjects()
    assert len(subjects) == len(set(subjects)) == 87
    for region in REGIONS:
        for ca, suffix in ROOT_CAS.items():
            assert f"Amazon RDS {region} {suffix}" in subjects, f"{ca} for {region}"
    assert all(s.startswith("Amazon RDS ") and s.endswith(tuple(ROOT_CAS.values())) for s in subjects)


def test_verify_full_options_name_the_bundle():
    """Fix: the options every RDS client passes to psycopg2: verify-full (chain and host name), the
    bundle as the trust store."""
    assert rds_tls.verify_full_options() == {"sslmode": "verify-full", "sslrootcert": str(rds_tls.BUNDLE)}
    assert rds_tls.BUNDLE.is_file()


@pytest.mark.catalogue("payments-12")
def test_the_layer_ships_the_bundle_where_rds_tls_finds_it():
    """Fix: lambda_src/build.py puts the bundle in the shared layer beside rds_tls.py: imported from
    the layer (as /opt/python on Lambda), the module names a file that is there."""
    build()  # a no-op when current
    code = "from common import rds_tls; print(rds_tls.BUNDLE, rds_tls.BUNDLE.is_file())"
    done = subprocess.run(
        [sys.executable, "-S", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(LAYER_DIR / "python")},
    )
    path, found = done.stdout.split()
    assert path == str(LAYER_DIR / "python" / "common" / "rds-ca-bundle.pem")
    assert found == "True"
