"""tests/conftest.py shares one botocore loader per process: what a fresh session gets from it."""

from __future__ import annotations

import boto3
import botocore.loaders
import botocore.session


def test_sessions_share_one_loader_and_its_search_paths_stay_put():
    first = boto3.session.Session(region_name="us-east-1")
    paths = list(first._session.get_component("data_loader").search_paths)
    for _ in range(3):
        session = boto3.session.Session(region_name="us-east-1")
        loader = session._session.get_component("data_loader")
        assert loader is first._session.get_component("data_loader")
    assert loader.search_paths == paths  # boto3's data folder once, not once per session
    assert len(set(paths)) == len(paths)
    # The shared loader still finds what a fresh one finds: a client's model and boto3's resources.
    assert session.client("dynamodb").meta.service_model.service_name == "dynamodb"
    assert session.resource("dynamodb").meta.service_name == "dynamodb"
    assert botocore.session.create_loader is not botocore.loaders.create_loader
