"""serverless.yml, serverless-rollback.yml and serverless-teardown.yml against a local AWS API.

The real packages (two model versions of the registry) are built and uploaded to moto; the
stack of deploy/serverless/template.yaml is created through CloudFormation, whose missing
resource types tests/deploy/moto_cloudformation.py supplies, and checked through the Lambda,
API Gateway v2, IAM, Logs and S3 APIs, as one would on AWS.
"""

from __future__ import annotations

import ast
import json
import zipfile

import boto3
import pytest

from serverless import build
from tests.deploy.local_aws import REGION, SETTINGS

pytestmark = [pytest.mark.slow, pytest.mark.aws, pytest.mark.serverless]

PREFIX = f"{SETTINGS['MNIST_PROJECT']}-{SETTINGS['MNIST_ENVIRONMENT']}"
FUNCTION = f"{PREFIX}-predict"
STACK = f"{PREFIX}-serverless"
ORIGIN = "https://page.example"
ROUTES = {"POST /predict", "POST /predict/number", "GET /models", "OPTIONS /{proxy+}"}


@pytest.fixture(scope="module")
def packages(function_package, tmp_path_factory):
    """The production version's package, then one of the earlier version (a new release)."""
    registry = json.loads((build.REPO / "models" / "registry.json").read_text())
    earlier = tmp_path_factory.mktemp("package-earlier")
    return [(function_package[0].parent, function_package[1]),
            (earlier, build.build(earlier, version=registry["history"][0]))]


@pytest.fixture(scope="module")
def clients(aws):
    def client(service):
        return boto3.client(service, region_name=REGION, endpoint_url=aws.endpoint,
                            aws_access_key_id="testing", aws_secret_access_key="testing")
    return {s: client(s) for s in ("lambda", "apigatewayv2", "iam", "logs", "s3",
                                   "cloudformation")}


def deploy(aws, package_dir, origins=(ORIGIN,)):
    return aws.playbook("serverless.yml", serverless_package_dir=str(package_dir),
                        serverless_cors_origins=origins)


@pytest.fixture(scope="module")
def deployed(aws, packages):
    first = deploy(aws, packages[0][0])
    output = aws.outputs[-1]
    return first, deploy(aws, packages[0][0]), output


def alias_version(clients) -> str:
    return clients["lambda"].get_alias(FunctionName=FUNCTION, Name="live")["FunctionVersion"]


def test_deploy_creates_then_changes_nothing(deployed):
    first, second, _ = deployed
    assert first["changed"] >= 3 and first["failed"] == 0
    assert second["changed"] == 0 and second["failed"] == 0


def test_the_function_runs_the_package(clients, packages, deployed):
    manifest = packages[0][1]
    config = clients["lambda"].get_function_configuration(FunctionName=FUNCTION)
    assert config["Runtime"] == manifest.runtime == "python3.13"
    assert config["Handler"] == "backend.lambda_function.handler"
    assert config["Architectures"] == [manifest.architecture]
    assert config["CodeSha256"] == manifest.code_sha256
    assert config["Environment"]["Variables"] == {"CORS_ORIGINS": ORIGIN,
                                                   "FEEDBACK_DATABASE_URL": "off"}
    assert (config["MemorySize"], config["Timeout"]) == (1024, 10)
    assert alias_version(clients) == "1"


def test_the_role_may_only_write_the_functions_logs(clients, deployed):
    config = clients["lambda"].get_function_configuration(FunctionName=FUNCTION)
    role = config["Role"].rsplit("/", 1)[1]
    trust = clients["iam"].get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "lambda.amazonaws.com"}]
    assert clients["iam"].list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    (name,) = clients["iam"].list_role_policies(RoleName=role)["PolicyNames"]
    document = clients["iam"].get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    if isinstance(document, str):  # moto keeps a CloudFormation inline policy as a repr
        document = ast.literal_eval(document)
    (statement,) = document["Statement"]
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"].endswith(f":log-group:/aws/lambda/{FUNCTION}:*")
    (group,) = clients["logs"].describe_log_groups(
        logGroupNamePrefix=f"/aws/lambda/{FUNCTION}")["logGroups"]
    assert group["retentionInDays"] == 14


def test_the_api_routes_to_the_live_alias_with_throttling(clients, deployed):
    (api,) = [a for a in clients["apigatewayv2"].get_apis()["Items"]
              if a["Name"] == FUNCTION]
    assert api["ProtocolType"] == "HTTP"
    routes = clients["apigatewayv2"].get_routes(ApiId=api["ApiId"])["Items"]
    assert {r["RouteKey"] for r in routes} == ROUTES
    (integration,) = clients["apigatewayv2"].get_integrations(ApiId=api["ApiId"])["Items"]
    alias = clients["lambda"].get_alias(FunctionName=FUNCTION, Name="live")
    assert integration["IntegrationUri"] == alias["AliasArn"]
    assert integration["PayloadFormatVersion"] == "2.0"
    assert {r["Target"] for r in routes} == {f"integrations/{integration['IntegrationId']}"}
    (stage,) = clients["apigatewayv2"].get_stages(ApiId=api["ApiId"])["Items"]
    assert stage["StageName"] == "$default" and stage["AutoDeploy"]
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] == 20
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == 40
    policy = json.loads(clients["lambda"].get_policy(FunctionName=FUNCTION,
                                                     Qualifier="live")["Policy"])
    (permission,) = policy["Statement"]
    assert permission["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert permission["Action"] == "lambda:InvokeFunction"
    assert f":{api['ApiId']}/*/*" in json.dumps(permission["Condition"])


def test_the_url_is_printed(deployed, clients):
    outputs = {o["OutputKey"]: o["OutputValue"] for o in
               clients["cloudformation"].describe_stacks(StackName=STACK)["Stacks"][0]["Outputs"]}
    assert outputs["ApiUrl"].startswith("https://")
    assert f"API {outputs['ApiUrl']} serves function version 1" in deployed[2]


@pytest.fixture(scope="module")
def released_and_rolled_back(aws, clients, packages, deployed):
    deploy(aws, packages[1][0], origins=ORIGIN)  # as -e name=value gives it: a string
    after_release = alias_version(clients)
    assert clients["lambda"].get_function_configuration(FunctionName=FUNCTION)[
        "Environment"]["Variables"]["CORS_ORIGINS"] == ORIGIN
    code = clients["lambda"].get_function_configuration(FunctionName=FUNCTION,
                                                       Qualifier="live")["CodeSha256"]
    aws.playbook("serverless-rollback.yml")
    return after_release, code, alias_version(clients)


def test_a_new_model_version_moves_the_alias_and_rollback_moves_it_back(
        released_and_rolled_back, packages, clients):
    after_release, code, after_rollback = released_and_rolled_back
    assert after_release == "2" and code == packages[1][1].code_sha256
    assert after_rollback == "1"
    assert clients["lambda"].get_function_configuration(
        FunctionName=FUNCTION, Qualifier="live")["CodeSha256"] == packages[0][1].code_sha256


@pytest.fixture(scope="module")
def torn_down(aws, released_and_rolled_back):
    return aws.playbook("serverless-teardown.yml"), aws.playbook("serverless-teardown.yml")


def test_teardown_leaves_nothing(torn_down, clients):
    first, second = torn_down
    assert first["changed"] >= 2 and second["changed"] == 0
    assert [f for f in clients["lambda"].list_functions()["Functions"]] == []
    assert clients["apigatewayv2"].get_apis()["Items"] == []
    assert [r for r in clients["iam"].list_roles()["Roles"] if STACK in r["RoleName"]] == []
    assert clients["logs"].describe_log_groups(
        logGroupNamePrefix=f"/aws/lambda/{FUNCTION}")["logGroups"] == []
    assert clients["s3"].list_buckets()["Buckets"] == []


def test_lambda_refuses_a_package_over_its_unzipped_limit(aws, clients, tmp_path):
    """As AWS does (the local API checks it too): 250 MiB unzipped, layers included."""
    oversized = tmp_path / "oversized.zip"
    with zipfile.ZipFile(oversized, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("backend/lambda_function.py", "handler = None\n")
        archive.writestr("padding.bin", bytes(build.UNZIPPED_LIMIT))  # zeros: a small zip
    s3, iam = clients["s3"], clients["iam"]
    s3.create_bucket(Bucket="oversized-package",
                     CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.upload_file(str(oversized), "oversized-package", "oversized.zip")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"Service": "lambda.amazonaws.com"}}]}
    role = iam.create_role(RoleName="oversized-role", AssumeRolePolicyDocument=json.dumps(trust))
    try:
        with pytest.raises(clients["lambda"].exceptions.InvalidParameterValueException,
                           match="Unzipped size must be smaller than 262144000 bytes"):
            clients["lambda"].create_function(
                FunctionName="oversized", Runtime="python3.13", Role=role["Role"]["Arn"],
                Handler="backend.lambda_function.handler",
                Code={"S3Bucket": "oversized-package", "S3Key": "oversized.zip"})
    finally:
        s3.delete_object(Bucket="oversized-package", Key="oversized.zip")
        s3.delete_bucket(Bucket="oversized-package")
        iam.delete_role(RoleName="oversized-role")
