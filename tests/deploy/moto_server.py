"""A local AWS API (moto) for the provisioning tests, with corrections and AWS's rules.

moto 5.2.5 files NAT gateway tags under the resource type "nat-gateway" where AWS (and the
amazon.aws modules, which filter describe_tags on it) say "natgateway": a tagged NAT gateway
would then look changed on every run. This corrects moto's prefix map before serving. An RDS
instance on gp3 storage reports the baseline AWS gives it (3,000 IOPS, 125 MiB/s below
400 GiB), which moto leaves out and amazon.aws.rds_instance reads.

moto also lets anything be deleted in any order. Where AWS refuses, so does this server, so
that a teardown in the wrong order fails here as it would on a real account:
- a security group an instance or an RDS instance uses (their network interfaces), or that
  another group's rule names: DependencyViolation;
- a subnet in which an RDS instance has interfaces (its DB subnet group): DependencyViolation;
- a DB subnet group an RDS instance is in: InvalidDBSubnetGroupStateFault;
- a subnet with live instances or a NAT gateway, a VPC with security groups or an attached
  internet gateway left, detaching the gateway while public addresses remain mapped in the
  VPC: DependencyViolation;
- releasing an Elastic IP still associated (an instance, a live NAT gateway):
  InvalidIPAddress.InUse;
- a Lambda function whose package unpacks to more than 262,144,000 bytes (250 MiB), or a zip
  over 50 MiB sent in the request itself: InvalidParameterValueException /
  RequestEntityTooLargeException.
It also injects AWS's transient states: a new NAT gateway is `pending` for its first
NAT_PENDING_POLLS descriptions, and the first release of an Elastic IP after its NAT gateway's
deletion fails (AWS frees the address a little later). Start it with VALIDATION_SWITCHES in
the environment so that moto also checks instance types, AMIs and key pairs. CloudFormation
gains the serverless stack's resource types and AWS's update rule (moto_cloudformation.py).

    python tests/deploy/moto_server.py PORT
"""

from __future__ import annotations

import io
import signal
import sys
import zipfile
from pathlib import Path

from moto.awslambda import models as lambda_models
from moto.awslambda.exceptions import InvalidParameterValueException, LambdaClientError
from moto.ec2 import utils as ec2_utils
from moto.ec2.exceptions import DependencyViolationError, EC2ClientError
from moto.ec2.models import EC2Backend
from moto.rds.exceptions import RDSClientError
from moto.rds.models import DBInstance, RDSBackend, rds_backends
from moto.server import ThreadedMotoServer

ec2_utils.EC2_PREFIX_TO_RESOURCE["nat"] = "natgateway"
NAT_PENDING_POLLS = 2
VALIDATION_SWITCHES = {"MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION": "true",
                       "MOTO_ENABLE_AMI_VALIDATION": "true",
                       "MOTO_ENABLE_KEYPAIR_VALIDATION": "true"}


def _databases(account_id: str, region: str) -> list:
    return list(rds_backends[account_id][region].databases.values())


def _live_instances(backend: EC2Backend) -> list:
    return [i for i in backend.all_instances() if i.state != "terminated"]


def _refuse_groups_in_use(original):
    def delete_security_group(self, name=None, group_id=None):
        group = self.get_security_group_by_name_or_id(group_id or name)
        if group is not None:
            users = [db.db_instance_identifier for db in _databases(self.account_id,
                                                                     self.region_name)
                     if group.id in db.vpc_security_group_ids]
            users += [i.id for i in _live_instances(self)
                      if group.id in {g.id for g in i.security_groups}]
            users += [other.id for groups in self.groups.values() for other in groups.values()
                      if other.id != group.id and any(
                          (rule.source_group or {}).get("GroupId") == group.id
                          for rule in other.ingress_rules + other.egress_rules)]
            if users:
                raise DependencyViolationError(
                    f"resource {group.id} has a dependent object ({', '.join(users)})")
        return original(self, name=name, group_id=group_id)
    return delete_security_group


def _refuse_subnets_in_use(original):
    """A subnet with live instances, a NAT gateway or an RDS instance's interfaces in it."""
    def delete_subnet(self, subnet_id):
        users = [i.id for i in _live_instances(self) if i.subnet_id == subnet_id]
        users += [g.id for g in self.nat_gateways.values()
                  if g.subnet_id == subnet_id and g.state != "deleted"]
        users += [db.db_instance_identifier for db in _databases(self.account_id,
                                                                  self.region_name)
                  if getattr(db, "db_subnet_group", None) is not None
                  and subnet_id in {s.id for s in db.db_subnet_group._subnets}]
        if users:
            raise DependencyViolationError(
                f"The subnet '{subnet_id}' has dependencies and cannot be deleted.")
        return original(self, subnet_id)
    return delete_subnet


def _refuse_vpcs_with_leftovers(original):
    def delete_vpc(self, vpc_id):
        groups = [g.id for g in self.groups.get(vpc_id, {}).values() if g.name != "default"]
        gateways = [g.id for g in self.internet_gateways.values()
                    if g.vpc is not None and g.vpc.id == vpc_id]
        if groups or gateways:
            raise DependencyViolationError(
                f"The vpc '{vpc_id}' has dependencies and cannot be deleted.")
        return original(self, vpc_id)
    return delete_vpc


def _deleted_nat_interfaces(backend: EC2Backend) -> set[str]:
    return {g._eni.id for g in backend.nat_gateways.values() if g.state == "deleted"}


def _refuse_detaching_with_public_addresses(original):
    def detach_internet_gateway(self, internet_gateway_id, vpc_id):
        mapped = [i.public_ip for i in _live_instances(self)
                  if i.public_ip and self.get_subnet(i.subnet_id).vpc_id == vpc_id]
        released = _deleted_nat_interfaces(self)  # AWS unmaps them with the gateway
        mapped += [a.public_ip for a in self.addresses
                   if a.eni is not None and a.eni.id not in released
                   and a.eni.subnet.vpc_id == vpc_id]
        if mapped:
            raise DependencyViolationError(
                f"Network {vpc_id} has some mapped public address(es). Please unmap those "
                "public address(es) before detaching the gateway.")
        return original(self, internet_gateway_id, vpc_id)
    return detach_internet_gateway


_failed_releases: set[str] = set()


def _refuse_releasing_addresses_in_use(original):
    def release_address(self, address=None, allocation_id=None):
        eips = self.address_by_ip([address]) if address else self.address_by_allocation(
            [allocation_id])
        eip = eips[0]
        gateways = [g for g in self.nat_gateways.values()
                    if any(a.get("allocationId") == eip.allocation_id for a in g.address_set)]
        live = [g.id for g in gateways if g.state != "deleted"]
        if live or (not gateways and eip.association_id):
            user = ", ".join(live) or eip.association_id
            raise EC2ClientError("InvalidIPAddress.InUse",
                                 f"Address {eip.public_ip} is in use ({user}).")
        if gateways and eip.allocation_id not in _failed_releases:
            _failed_releases.add(eip.allocation_id)
            raise EC2ClientError("InvalidIPAddress.InUse",
                                 f"Address {eip.public_ip} is still in use by "
                                 f"{gateways[0].id}, which is being deleted.")
        return original(self, address=address, allocation_id=allocation_id)
    return release_address


_pending_polls: dict[str, int] = {}


def _nat_gateways_start_pending(original):
    def create_nat_gateway(self, *args, **kwargs):
        gateway = original(self, *args, **kwargs)
        gateway.state = "pending"
        _pending_polls[gateway.id] = NAT_PENDING_POLLS
        return gateway
    return create_nat_gateway


def _nat_gateways_become_available(original):
    def describe_nat_gateways(self, filters, nat_gateway_ids):
        for gateway in self.nat_gateways.values():
            if gateway.state == "pending" and gateway.id in _pending_polls:
                if _pending_polls[gateway.id] == 0:
                    gateway.state = "available"
                    del _pending_polls[gateway.id]
                else:
                    _pending_polls[gateway.id] -= 1
        return original(self, filters, nat_gateway_ids)
    return describe_nat_gateways


def _refuse_subnet_groups_in_use(original):
    def delete_subnet_group(self, subnet_name):
        users = [db.db_instance_identifier for db in self.databases.values()
                 if getattr(db, "db_subnet_group", None) is not None
                 and db.db_subnet_group.name == subnet_name.lower()]
        if users:
            raise RDSClientError("InvalidDBSubnetGroupStateFault",
                                 f"Cannot delete the subnet group '{subnet_name}' because at "
                                 f"least one database instance: {users[0]} is still using it.")
        return original(self, subnet_name)
    return delete_subnet_group


def _gp3_baseline(original):
    """AWS reports gp3's baseline (3,000 IOPS, 125 MiB/s below 400 GiB); moto leaves it out."""
    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if self.storage_type == "gp3":
            self.iops = self.iops or 3000
            self.storage_throughput = self.storage_throughput or 125
    return init


DBInstance.__init__ = _gp3_baseline(DBInstance.__init__)
EC2Backend.delete_security_group = _refuse_groups_in_use(EC2Backend.delete_security_group)
EC2Backend.delete_subnet = _refuse_subnets_in_use(EC2Backend.delete_subnet)
EC2Backend.delete_vpc = _refuse_vpcs_with_leftovers(EC2Backend.delete_vpc)
EC2Backend.detach_internet_gateway = _refuse_detaching_with_public_addresses(
    EC2Backend.detach_internet_gateway)
EC2Backend.release_address = _refuse_releasing_addresses_in_use(EC2Backend.release_address)
EC2Backend.create_nat_gateway = _nat_gateways_start_pending(EC2Backend.create_nat_gateway)
EC2Backend.describe_nat_gateways = _nat_gateways_become_available(
    EC2Backend.describe_nat_gateways)
RDSBackend.delete_subnet_group = _refuse_subnet_groups_in_use(RDSBackend.delete_subnet_group)


LAMBDA_UNZIPPED_LIMIT = 262_144_000
LAMBDA_DIRECT_ZIP_LIMIT = 52_428_800


def _refuse_oversized_packages(original, direct: bool):
    """Lambda's package limits, which moto does not check."""

    def content(source):
        code = original(source)
        if direct and code[1] > LAMBDA_DIRECT_ZIP_LIMIT:
            raise LambdaClientError("RequestEntityTooLargeException",
                                    "Request must be smaller than 69905067 bytes for the "
                                    "CreateFunction operation")
        with zipfile.ZipFile(io.BytesIO(code[0])) as archive:
            unzipped = sum(i.file_size for i in archive.infolist())
        if unzipped > LAMBDA_UNZIPPED_LIMIT:
            raise InvalidParameterValueException(
                f"Unzipped size must be smaller than {LAMBDA_UNZIPPED_LIMIT} bytes")
        return code

    return content


lambda_models._s3_content = _refuse_oversized_packages(lambda_models._s3_content, False)
lambda_models._zipfile_content = _refuse_oversized_packages(lambda_models._zipfile_content,
                                                            True)


def main() -> None:
    port = int(sys.argv[1])
    # This file runs as a script; moto's models want a dotted module name.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.deploy.moto_cloudformation import install

    install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print(f"moto listening on 127.0.0.1:{port}", flush=True)
    try:
        signal.pause()  # serve until a signal ends the process
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
