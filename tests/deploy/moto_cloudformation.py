"""CloudFormation in moto for the serverless stack: the resource types moto 5.2.5 lacks, and
AWS's update rule that moto skips.

moto's CloudFormation has no AWS::Lambda::Alias and no AWS::ApiGatewayV2::* (it warns and
creates nothing), publishes no new AWS::Lambda::Version on an update, re-applies a changed
resource only to resources that name it with Ref, whereas AWS also updates those that read
one of its attributes (GetAtt, Sub), and carries out updates that change nothing, which AWS
refuses. These models create, update and delete the
real objects in moto's Lambda and API Gateway v2 backends, so the tests look at them through
the same APIs as on AWS (apigatewayv2.get_routes, lambda.get_alias, ...).
"""

from __future__ import annotations

import contextlib
import functools
import re
from typing import Any

from moto.apigatewayv2.exceptions import ApiNotFound
from moto.apigatewayv2.models import apigatewayv2_backends
from moto.awslambda.exceptions import UnknownFunctionException
from moto.awslambda.models import lambda_backends
from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend
from moto.core.common_models import CloudFormationModel

_SUB_NAMES = re.compile(r"\$\{([A-Za-z0-9]+)")


def _lambda(account_id: str, region: str):
    return lambda_backends[account_id][region]


def _apis(account_id: str, region: str):
    return apigatewayv2_backends[account_id][region]


class _Model(CloudFormationModel):
    """Common plumbing: the account and region each object lives in."""

    account_id: str
    region: str

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name,  # type: ignore[misc]
                                        cloudformation_json, account_id, region_name):
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json,
                                                   account_id, region_name)


class LambdaVersion(_Model):
    """A published version; a changed package or description publishes a new one (Retain)."""

    def __init__(self, function_name: str, version: str) -> None:
        self.function_name, self.version = function_name, version

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::Version"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json,  # type: ignore[misc]
                                        account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        published = _lambda(account_id, region_name).publish_version(
            properties["FunctionName"], properties.get("Description", ""))
        return cls(properties["FunctionName"], str(published.version))

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name,  # type: ignore[misc]
                                        cloudformation_json, account_id, region_name):
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json,
                                                   account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        """DeletionPolicy Retain: the version goes with its function."""

    @property
    def physical_resource_id(self) -> str:
        return f"{self.function_name}:{self.version}"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Version"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.version


class LambdaAlias(_Model):
    def __init__(self, alias, account_id: str, region: str) -> None:
        self.alias, self.account_id, self.region = alias, account_id, region

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::Alias"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json,  # type: ignore[misc]
                                        account_id, region_name, **kwargs):
        p = cloudformation_json["Properties"]
        alias = _lambda(account_id, region_name).create_alias(
            name=p["Name"], function_name=p["FunctionName"],
            function_version=str(p["FunctionVersion"]), description=p.get("Description", ""),
            routing_config=None)
        return cls(alias, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name,  # type: ignore[misc]
                                        cloudformation_json, account_id, region_name):
        p = cloudformation_json["Properties"]
        alias = _lambda(account_id, region_name).update_alias(
            name=p["Name"], function_name=p["FunctionName"],
            function_version=str(p["FunctionVersion"]), description=p.get("Description", ""),
            routing_config=None)
        return cls(alias, account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        function = self.alias.arn.rsplit(":", 1)[0]
        with contextlib.suppress(UnknownFunctionException):  # gone with its function
            _lambda(account_id, region).delete_alias(self.alias.name, function)

    @property
    def physical_resource_id(self) -> str:
        return self.alias.arn


class HttpApi(_Model):
    def __init__(self, api) -> None:
        self.api = api

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Api"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json,  # type: ignore[misc]
                                        account_id, region_name, **kwargs):
        p = cloudformation_json["Properties"]
        api = _apis(account_id, region_name).create_api(
            api_key_selection_expression=None, cors_configuration=p.get("CorsConfiguration"),
            description=p.get("Description"), disable_schema_validation=None,
            disable_execute_api_endpoint=p.get("DisableExecuteApiEndpoint"), name=p["Name"],
            protocol_type=p["ProtocolType"], route_selection_expression=None,
            tags=p.get("Tags", {}), version=None)
        return cls(api)

    def delete(self, account_id: str, region: str) -> None:
        _apis(account_id, region).delete_api(self.api.api_id)

    @property
    def physical_resource_id(self) -> str:
        return self.api.api_id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("ApiEndpoint", "ApiId")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.api.api_endpoint if attribute_name == "ApiEndpoint" else self.api.api_id


class _ApiChild(_Model):
    """An integration, route or stage: it lives in its API and goes when the API goes."""

    def __init__(self, api_id: str, child_id: str) -> None:
        self.api_id, self.child_id = api_id, child_id

    def delete(self, account_id: str, region: str) -> None:
        with contextlib.suppress(ApiNotFound):
            self._delete(_apis(account_id, region), self.api_id, self.child_id)

    @property
    def physical_resource_id(self) -> str:
        return self.child_id


class HttpIntegration(_ApiChild):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Integration"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json,  # type: ignore[misc]
                                        account_id, region_name, **kwargs):
        p = cloudformation_json["Properties"]
        integration = _apis(account_id, region_name).create_integration(
            api_id=p["ApiId"], connection_id=None, connection_type=None,
            content_handling_strategy=None, credentials_arn=None, description=None,
            integration_method=p.get("IntegrationMethod", "POST"), integration_subtype=None,
            integration_type=p["IntegrationType"], integration_uri=p["IntegrationUri"],
            passthrough_behavior=None, payload_format_version=p.get("PayloadFormatVersion"),
            request_parameters=None, request_templates=None, response_parameters=None,
            template_selection_expression=None,
            timeout_in_millis=p.get("TimeoutInMillis"), tls_config=None)
        return cls(p["ApiId"], integration.id)

    @staticmethod
    def _delete(backend, api_id: str, child_id: str) -> None:
        backend.delete_integration(api_id, child_id)


class HttpRoute(_ApiChild):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Route"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json,  # type: ignore[misc]
                                        account_id, region_name, **kwargs):
        p = cloudformation_json["Properties"]
        route = _apis(account_id, region_name).create_route(
            api_id=p["ApiId"], api_key_required=False, authorization_scopes=[],
            authorization_type=p.get("AuthorizationType", "NONE"), authorizer_id=None,
            model_selection_expression=None, operation_name=None, request_models=None,
            request_parameters=None, route_key=p["RouteKey"],
            route_response_selection_expression=None, target=p.get("Target"))
        return cls(p["ApiId"], route.route_id)

    @staticmethod
    def _delete(backend, api_id: str, child_id: str) -> None:
        backend.delete_route(api_id, child_id)


class HttpStage(_ApiChild):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Stage"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json,  # type: ignore[misc]
                                        account_id, region_name, **kwargs):
        p = cloudformation_json["Properties"]
        settings = p.get("DefaultRouteSettings", {})
        config = {"stageName": p["StageName"], "autoDeploy": p.get("AutoDeploy", False),
                  "defaultRouteSettings": {
                      "throttlingRateLimit": float(settings["ThrottlingRateLimit"]),
                      "throttlingBurstLimit": int(settings["ThrottlingBurstLimit"])},
                  "tags": p.get("Tags", {})}
        stage = _apis(account_id, region_name).create_stage(p["ApiId"], config)
        return cls(p["ApiId"], stage.name)

    @staticmethod
    def _delete(backend, api_id: str, child_id: str) -> None:
        backend.delete_stage(api_id, child_id)


def _names_read(resource_json: Any) -> set[str]:
    """Every resource or parameter a resource reads: Ref, GetAtt and Sub's ${...}."""
    found: set[str] = set()
    if isinstance(resource_json, dict):
        for key, value in resource_json.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else value.split(".")[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found |= set(_SUB_NAMES.findall(text))
            found |= _names_read(value)
    elif isinstance(resource_json, list):
        for item in resource_json:
            found |= _names_read(item)
    return found


def _cascading_diff(original):
    """AWS re-applies a resource that reads (Ref/GetAtt/Sub) a changed one; moto only Ref."""

    def build_resource_diff(self, other_template, parameters=None):
        actions = original(self, other_template, parameters)
        new = other_template["Resources"]
        changed = [n for n in dict.fromkeys(actions["Modify"]) if n in new]
        if parameters:  # a parameter read through Sub counts too
            changed_parameters = {p for p in parameters
                                  if self.input_parameters.get(p) != parameters[p]}
            changed += [n for n in new if n in self._resource_json_map and n not in changed
                        and _names_read(new[n]) & changed_parameters]
        grew = True
        while grew:
            grew = False
            for name in new:
                if (name in self._resource_json_map and name not in changed
                        and _names_read(new[name]) & set(changed)):
                    changed.append(name)
                    grew = True
        # Apply in the template's order of dependencies: a reader after what it reads.
        order = {name: index for index, name in enumerate(new)}
        actions["Modify"] = sorted(changed, key=order.__getitem__)
        return actions

    return build_resource_diff


def _refuse_empty_updates(original):
    """AWS refuses an update that changes nothing ("No updates are to be performed."), which
    is how amazon.aws.cloudformation knows a second run changed nothing; moto updates anyway."""

    def update_stack(self, name, template, role_arn, parameters, tags):
        stack = self.get_stack(name)
        resolved = self._resolve_update_parameters(instance=stack, incoming_params=parameters)
        if (template == stack.template and resolved == stack.parameters
                and (tags is None or tags == stack.tags)):
            raise ValidationError(message="No updates are to be performed.")
        return original(self, name, template, role_arn, parameters, tags)

    return update_stack


MODELS = (LambdaVersion, LambdaAlias, HttpApi, HttpIntegration, HttpRoute, HttpStage)


def install() -> None:
    """Register the models and the update rule (before the first stack is parsed).

    moto finds its models as CloudFormationModel's direct subclasses; these come after them,
    so that this module's AWS::Lambda::Version replaces moto's.
    """
    builtin = [m for m in CloudFormationModel.__subclasses__() if m is not _Model]
    parsing.get_model_list = functools.cache(lambda: [*builtin, *MODELS])
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    parsing.ResourceMap.build_resource_diff = _cascading_diff(
        parsing.ResourceMap.build_resource_diff)
    CloudFormationBackend.update_stack = _refuse_empty_updates(CloudFormationBackend.update_stack)
