"""Code shared by every Lambda function; shipped to Lambda in the shared layer (/opt/python/common)."""
