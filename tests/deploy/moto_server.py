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
- a DB subnet group an RDS instance is in: InvalidDBSubnetGroupStateFault.

    python tests/deploy/moto_server.py PORT
"""

from __future__ import annotations

import signal
import sys

from moto.ec2 import utils as ec2_utils
from moto.ec2.exceptions import DependencyViolationError
from moto.ec2.models import EC2Backend
from moto.rds.exceptions import RDSClientError
from moto.rds.models import DBInstance, RDSBackend, rds_backends
from moto.server import ThreadedMotoServer

ec2_utils.EC2_PREFIX_TO_RESOURCE["nat"] = "natgateway"


def _databases(account_id: str, region: str) -> list:
    return list(rds_backends[account_id][region].databases.values())


def _refuse_groups_in_use(original):
    def delete_security_group(self, name=None, group_id=None):
        group = self.get_security_group_by_name_or_id(group_id or name)
        if group is not None:
            users = [db.db_instance_identifier for db in _databases(self.account_id,
                                                                     self.region_name)
                     if group.id in db.vpc_security_group_ids]
            users += [i.id for i in self.all_instances() if i.state != "terminated"
                      and group.id in {g.id for g in i.security_groups}]
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
    def delete_subnet(self, subnet_id):
        for db in _databases(self.account_id, self.region_name):
            group = getattr(db, "db_subnet_group", None)
            if group is not None and subnet_id in {s.id for s in group._subnets}:
                raise DependencyViolationError(
                    f"The subnet '{subnet_id}' has dependencies and cannot be deleted.")
        return original(self, subnet_id)
    return delete_subnet


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
RDSBackend.delete_subnet_group = _refuse_subnet_groups_in_use(RDSBackend.delete_subnet_group)


def main() -> None:
    port = int(sys.argv[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print(f"moto listening on 127.0.0.1:{port}", flush=True)
    try:
        signal.pause()  # serve until a signal ends the process
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
