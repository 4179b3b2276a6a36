#!/usr/bin/env python3
"""Prints template.yaml expanded by the SAM translator (what CloudFormation
deploys: the IAM roles, permissions, event rules and stages SAM generates),
as JSON on stdout. Offline: the AWS managed policies SAM may attach are
named from a fixed map instead of being looked up in IAM.

    .venv/bin/python scripts/expand-template.py [template.yaml]

Read by functions/tests/template_grants.rs, which checks every function's
grants, variables, throttles and failure path against the code.
"""
import json
import os
import sys

from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform


class OfflinePolicies:
    """The managed policies SAM attaches by name (no IAM call)."""

    ARNS = {
        "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
        "AWSXRayDaemonWriteAccess": "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
    }

    def load(self):
        return self.ARNS


def main():
    # The translator fills AWS::Region from the environment; the region
    # changes no grant, so any will do offline.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_REGION", "us-east-1")
    path = sys.argv[1] if len(sys.argv) > 1 else "template.yaml"
    with open(path, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    # As `sam package` would: a local CodeUri becomes an S3 artifact.
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function" and not str(
            props.get("CodeUri", "")
        ).startswith("s3://"):
            props["CodeUri"] = f"s3://packaged-artifacts/{logical_id}.zip"
    expanded = transform(template, {}, OfflinePolicies(), passthrough_metadata=True)
    json.dump(expanded, sys.stdout, indent=1, sort_keys=True, default=str)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
