"""provision.yml and teardown.yml against a local AWS API (moto on 127.0.0.1): the layout,
idempotence, the inventory, least-privilege security groups, and a clean teardown."""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
import signal
import subprocess
import time

import pytest

from tests.conftest import REPO_ROOT
from tests.deploy import ANSIBLE_DIR
from tests.deploy.local_aws import ADMIN_CIDR, REGION, SETTINGS, VENV_BIN, require_loopback

pytestmark = [pytest.mark.slow, pytest.mark.aws]

PROJECT_FILTER = [{"Name": "tag:Project", "Values": [SETTINGS["MNIST_PROJECT"]]}]


def test_the_guard_refuses_real_endpoints():
    for endpoint in ("https://ec2.eu-west-1.amazonaws.com", "http://10.0.0.5:5000", "http://"):
        with pytest.raises(RuntimeError, match="refusing"):
            require_loopback(endpoint)
    assert require_loopback("http://127.0.0.1:4566")


@pytest.fixture(scope="module")
def provisioned(aws):
    return [aws.playbook("provision.yml"), aws.playbook("provision.yml")]


@pytest.fixture(scope="module")
def torn_down(aws, provisioned):
    first = aws.playbook("teardown.yml")
    first_output = aws.outputs[-1]
    return [first, aws.playbook("teardown.yml"), first_output]


# --- provisioning ------------------------------------------------------------------------------

def test_provision_creates_then_changes_nothing(provisioned):
    first, second = provisioned
    assert first["changed"] > 10 and first["failed"] == 0
    assert second["changed"] == 0 and second["failed"] == 0


def test_network_layout(aws, provisioned):
    (vpc,) = aws.ec2.describe_vpcs(Filters=PROJECT_FILTER)["Vpcs"]
    assert vpc["CidrBlock"] == "10.0.0.0/16"
    for attribute, key in (("enableDnsSupport", "EnableDnsSupport"),
                           ("enableDnsHostnames", "EnableDnsHostnames")):
        value = aws.ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute=attribute)
        assert value[key]["Value"] is True
    subnets = aws.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
    tiers = {}
    for subnet in subnets["Subnets"]:
        tier = {t["Key"]: t["Value"] for t in subnet["Tags"]}["Tier"]
        tiers.setdefault(tier, []).append(subnet)
    assert len(tiers["public"]) == 2 and len(tiers["private"]) == 2
    assert len({s["AvailabilityZone"] for s in tiers["public"]}) == 2
    assert len({s["AvailabilityZone"] for s in tiers["private"]}) == 2
    assert all(s["MapPublicIpOnLaunch"] for s in tiers["public"])
    assert not any(s["MapPublicIpOnLaunch"] for s in tiers["private"])

    (igw,) = aws.ec2.describe_internet_gateways(Filters=PROJECT_FILTER)["InternetGateways"]
    (nat,) = [n for n in aws.ec2.describe_nat_gateways()["NatGateways"]
              if n["State"] == "available"]
    assert nat["SubnetId"] in {s["SubnetId"] for s in tiers["public"]}
    # Its Elastic IP was allocated explicitly and tagged, so that teardown can find it.
    (address,) = aws.ec2.describe_addresses(Filters=PROJECT_FILTER)["Addresses"]
    assert address["AllocationId"] == nat["NatGatewayAddresses"][0]["AllocationId"]
    routes = {}
    for table in aws.ec2.describe_route_tables(Filters=PROJECT_FILTER)["RouteTables"]:
        name = {t["Key"]: t["Value"] for t in table["Tags"]}["Name"]
        default = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
        routes[name.rsplit("-", 1)[1]] = (default[0], {a["SubnetId"]
                                                        for a in table["Associations"]})
    assert routes["public"][0]["GatewayId"] == igw["InternetGatewayId"]
    assert routes["public"][1] == {s["SubnetId"] for s in tiers["public"]}
    assert routes["private"][0]["NatGatewayId"] == nat["NatGatewayId"]
    assert routes["private"][1] == {s["SubnetId"] for s in tiers["private"]}


def running_instances(aws) -> dict[str, list[dict]]:
    by_role: dict[str, list[dict]] = {}
    reservations = aws.ec2.describe_instances(
        Filters=[*PROJECT_FILTER, {"Name": "instance-state-name", "Values": ["running"]}])
    for reservation in reservations["Reservations"]:
        for instance in reservation["Instances"]:
            tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
            by_role.setdefault(tags["Role"], []).append({**instance, "TagMap": tags})
    return by_role


def test_instances_are_hardened_and_placed(aws, provisioned):
    roles = running_instances(aws)
    assert {r: len(v) for r, v in roles.items()} == {"bastion": 1, "frontend": 1, "backend": 2}
    private_cidrs = [ipaddress.ip_network(c) for c in ("10.0.11.0/24", "10.0.12.0/24")]
    for role, instances in roles.items():
        for instance in instances:
            assert instance["MetadataOptions"]["HttpTokens"] == "required"
            assert instance["TagMap"]["Environment"] == "dev"
            assert instance["ImageId"] == "ami-0c0ffee0b1e200001"  # the newest noble image
            volumes = aws.ec2.describe_volumes(Filters=[
                {"Name": "attachment.instance-id", "Values": [instance["InstanceId"]]}])
            assert volumes["Volumes"], instance["InstanceId"]
            for volume in volumes["Volumes"]:
                assert volume["Encrypted"] is True and volume["VolumeType"] == "gp3"
            address = ipaddress.ip_address(instance["PrivateIpAddress"])
            if role == "backend":
                assert "PublicIpAddress" not in instance
                assert any(address in cidr for cidr in private_cidrs)
            else:
                assert instance["PublicIpAddress"]
    backend_subnets = {i["SubnetId"] for i in roles["backend"]}
    assert len(backend_subnets) == 2  # one backend in each private subnet / AZ


def test_security_groups_are_exactly_least_privilege(aws, provisioned):
    groups = {}
    for group in aws.ec2.describe_security_groups(Filters=PROJECT_FILTER)["SecurityGroups"]:
        groups[{t["Key"]: t["Value"] for t in group["Tags"]}["Role"]] = group
    assert set(groups) == {"bastion", "frontend", "backend", "db"}
    ids = {role: group["GroupId"] for role, group in groups.items()}

    def ingress(group: dict) -> set[tuple]:
        rules = set()
        for permission in group["IpPermissions"]:
            port = (permission["IpProtocol"], permission.get("FromPort"),
                    permission.get("ToPort"))
            rules |= {(*port, r["CidrIp"]) for r in permission.get("IpRanges", [])}
            rules |= {(*port, r["GroupId"]) for r in permission.get("UserIdGroupPairs", [])}
            assert not permission.get("Ipv6Ranges")
        return rules

    assert ingress(groups["bastion"]) == {("tcp", 22, 22, ADMIN_CIDR)}
    # HTTP only: no certificate is set up, so 443 is not open to nothing.
    assert ingress(groups["frontend"]) == {("tcp", 80, 80, "0.0.0.0/0"),
                                           ("tcp", 22, 22, ids["bastion"])}
    assert ingress(groups["backend"]) == {("tcp", 5000, 5000, ids["frontend"]),
                                          ("tcp", 22, 22, ids["bastion"])}
    assert ingress(groups["db"]) == {("tcp", 5432, 5432, ids["backend"])}
    assert groups["db"]["IpPermissionsEgress"] == []  # the database dials nobody
    for role, instances in running_instances(aws).items():
        for instance in instances:
            assert [g["GroupId"] for g in instance["SecurityGroups"]] == [ids[role]]


DATABASE = "mnist-webapp-dev-feedback"
PASSWORD_PARAMETER = "/mnist-webapp/dev/feedback-db-password"


def test_the_feedback_database_is_private_encrypted_and_shared(aws, provisioned):
    (db,) = aws.rds.describe_db_instances(DBInstanceIdentifier=DATABASE)["DBInstances"]
    assert db["Engine"] == "postgres" and db["DBName"] == "feedback"
    assert db["PubliclyAccessible"] is False and db["StorageEncrypted"] is True
    assert db["BackupRetentionPeriod"] == 7
    private = {s["SubnetId"] for s in aws.ec2.describe_subnets(Filters=[
        *PROJECT_FILTER, {"Name": "tag:Tier", "Values": ["private"]}])["Subnets"]}
    assert {s["SubnetIdentifier"] for s in db["DBSubnetGroup"]["Subnets"]} == private
    (group,) = aws.ec2.describe_security_groups(Filters=[
        *PROJECT_FILTER, {"Name": "tag:Role", "Values": ["db"]}])["SecurityGroups"]
    assert [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]] == [group["GroupId"]]
    # The generated password lives in Parameter Store, encrypted, and nowhere in the repo.
    parameter = aws.ssm.get_parameter(Name=PASSWORD_PARAMETER, WithDecryption=True)["Parameter"]
    assert parameter["Type"] == "SecureString" and len(parameter["Value"]) == 40
    tracked = subprocess.run(["git", "grep", "-l", parameter["Value"]], cwd=REPO_ROOT,
                             capture_output=True, text=True)
    assert tracked.stdout == ""


def test_the_local_aws_refuses_what_aws_refuses(aws, provisioned):
    """Deleting what the database still uses fails here as on AWS (tests/deploy/moto_server)."""
    from botocore.exceptions import ClientError

    (db,) = aws.rds.describe_db_instances(DBInstanceIdentifier=DATABASE)["DBInstances"]
    with pytest.raises(ClientError, match="DependencyViolation"):
        aws.ec2.delete_security_group(GroupId=db["VpcSecurityGroups"][0]["VpcSecurityGroupId"])
    with pytest.raises(ClientError, match="DependencyViolation"):
        aws.ec2.delete_subnet(SubnetId=db["DBSubnetGroup"]["Subnets"][0]["SubnetIdentifier"])
    with pytest.raises(ClientError, match="InvalidDBSubnetGroupStateFault"):
        aws.rds.delete_db_subnet_group(DBSubnetGroupName=DATABASE)
    groups = {tag["Value"]: g["GroupId"]
              for g in aws.ec2.describe_security_groups(Filters=PROJECT_FILTER)["SecurityGroups"]
              for tag in g["Tags"] if tag["Key"] == "Role"}
    with pytest.raises(ClientError, match="DependencyViolation"):  # named by others' rules
        aws.ec2.delete_security_group(GroupId=groups["bastion"])
    with pytest.raises(ClientError, match=r"dependent object \(.*i-[0-9a-f]+"):  # its instance
        aws.ec2.delete_security_group(GroupId=groups["frontend"])
    (address,) = aws.ec2.describe_addresses(Filters=PROJECT_FILTER)["Addresses"]
    with pytest.raises(ClientError, match=r"InvalidIPAddress\.InUse"):  # the live NAT's
        aws.ec2.release_address(AllocationId=address["AllocationId"])
    (igw,) = aws.ec2.describe_internet_gateways(Filters=PROJECT_FILTER)["InternetGateways"]
    vpc_id = igw["Attachments"][0]["VpcId"]
    with pytest.raises(ClientError, match="mapped public address"):
        aws.ec2.detach_internet_gateway(InternetGatewayId=igw["InternetGatewayId"], VpcId=vpc_id)
    public = aws.ec2.describe_subnets(Filters=[*PROJECT_FILTER,
                                               {"Name": "tag:Tier", "Values": ["public"]}])
    with pytest.raises(ClientError, match="DependencyViolation"):  # the bastion, the NAT
        aws.ec2.delete_subnet(SubnetId=public["Subnets"][0]["SubnetId"])
    with pytest.raises(ClientError, match="DependencyViolation"):
        aws.ec2.delete_vpc(VpcId=vpc_id)


def plain(value):
    """ansible-inventory marks values from the cloud as unsafe: {"__ansible_unsafe": value}."""
    return value["__ansible_unsafe"] if isinstance(value, dict) else value


def test_inventory_groups_and_connection_settings(aws, provisioned):
    listing = aws.run("ansible-inventory", "--list")
    assert listing.returncode == 0, listing.stderr[-3000:]
    inventory = json.loads(listing.stdout)
    hosts = {group: sorted(inventory.get(group, {}).get("hosts", []))
             for group in ("bastion", "frontend", "backend", "behind_bastion")}
    assert hosts["bastion"] == ["mnist-webapp-dev-bastion"]
    assert hosts["frontend"] == ["mnist-webapp-dev-frontend"]
    assert hosts["backend"] == ["mnist-webapp-dev-backend-1", "mnist-webapp-dev-backend-2"]
    assert sorted(hosts["behind_bastion"]) == sorted(hosts["frontend"] + hosts["backend"])

    roles = running_instances(aws)
    bastion_ip = roles["bastion"][0]["PublicIpAddress"]
    hostvars = inventory["_meta"]["hostvars"]
    assert plain(hostvars["mnist-webapp-dev-bastion"]["ansible_host"]) == bastion_ip
    for backend in roles["backend"]:
        host = hostvars[backend["TagMap"]["Name"]]
        assert plain(host["ansible_host"]) == backend["PrivateIpAddress"]
    # What site.yml's inventory check compares with the deployment.
    assert {plain(h["placement"]["region"]) for h in hostvars.values()} == {REGION}

    # The connection settings as Ansible resolves them (debug runs on the controller only).
    resolved = aws.run("ansible", "all", "-m", "ansible.builtin.debug", "-a",
                       '{"msg": "{{ ansible_user }}|{{ ansible_host }}|'
                       '{{ ansible_ssh_common_args }}"}')
    assert resolved.returncode == 0, resolved.stdout[-3000:]
    settings = dict(re.findall(r'^(\S+) \| SUCCESS => \{\n\s+"msg": "(.*)"\n\}', resolved.stdout,
                               re.MULTILINE))
    assert set(settings) == set(hostvars)
    for host, value in settings.items():
        user, address, args = value.split("|", 2)
        assert user == "ubuntu"
        # One key offered, never an agent's whole ring against MaxAuthTries 3.
        assert "-o IdentitiesOnly=yes" in args
        if host == "mnist-webapp-dev-bastion":
            assert address == bastion_ip and "ProxyCommand" not in args
        else:
            proxy = re.search(r'ProxyCommand=\\"(.*?)\\"', args).group(1)
            assert proxy.startswith("ssh -W %h:%p") and "IdentitiesOnly=yes" in proxy
            assert f"-i {aws.key}" in proxy  # the key reaches the bastion hop too
            assert proxy.endswith(f"ubuntu@{bastion_ip}")



def inventory_hosts(aws) -> set[str]:
    listing = aws.run("ansible-inventory", "--list")
    assert listing.returncode == 0, listing.stderr[-3000:]
    return set(json.loads(listing.stdout)["_meta"]["hostvars"])


def test_two_environments_side_by_side_each_see_only_their_own(aws, provisioned):
    """MNIST_ENVIRONMENT selects the deployment for the playbooks and the inventory alike;
    -e cannot (the inventory would not follow), and an empty or mixed inventory is refused
    before any host is contacted."""
    staging = aws.for_environment("staging")
    assert staging.playbook("provision.yml")["failed"] == 0
    try:
        dev_hosts, staging_hosts = inventory_hosts(aws), inventory_hosts(staging)
        assert len(dev_hosts) == len(staging_hosts) == 4
        assert all(h.startswith("mnist-webapp-dev-") for h in dev_hosts)
        assert all(h.startswith("mnist-webapp-staging-") for h in staging_hosts)

        refused = aws.run("ansible-playbook", "site.yml", deploy_environment="staging")
        assert refused.returncode != 0 and "not with -e" in refused.stdout
        stranger = aws.work / "stranger.yml"
        stranger.write_text(json.dumps({"all": {"children": {"backend": {"hosts": {
            "someone-elses-backend": {"ansible_host": "127.0.0.1", "placement": {
                "region": REGION}, "tags": {"Project": "mnist-webapp", "Environment": "prod"}},
        }}}}}))
        mixed = aws.run("ansible-playbook", "site.yml", "-i", "inventory/aws_ec2.yml",
                        "-i", str(stranger))
        assert mixed.returncode != 0 and "someone-elses-backend of other" in mixed.stdout
    finally:
        assert staging.playbook("teardown.yml")["failed"] == 0
    empty = staging.run("ansible-playbook", "site.yml")
    assert empty.returncode != 0 and "lists 0 bastion" in empty.stdout
    assert inventory_hosts(aws) == dev_hosts  # the other environment is untouched

# --- teardown ----------------------------------------------------------------------------------

def test_teardown_removes_then_changes_nothing(torn_down):
    first, second, _ = torn_down
    assert first["changed"] > 5 and first["failed"] == 0
    assert second["changed"] == 0 and second["failed"] == 0


def test_teardown_waits_out_aws_transient_refusals(torn_down):
    """The local AWS refuses the first release of the NAT's address after the gateway's
    deletion, as AWS often does: teardown retried, and nothing is left (test_nothing_is_left)."""
    output = torn_down[2]
    assert "FAILED - RETRYING: [localhost]: Release the Elastic IPs" in output


def test_nothing_is_left(aws, torn_down):
    assert_nothing_left(aws)


def assert_nothing_left(aws) -> None:
    ec2 = aws.ec2
    assert ec2.describe_vpcs(Filters=PROJECT_FILTER)["Vpcs"] == []
    assert ec2.describe_subnets(Filters=PROJECT_FILTER)["Subnets"] == []
    assert ec2.describe_security_groups(Filters=PROJECT_FILTER)["SecurityGroups"] == []
    assert ec2.describe_route_tables(Filters=PROJECT_FILTER)["RouteTables"] == []
    assert ec2.describe_internet_gateways(Filters=PROJECT_FILTER)["InternetGateways"] == []
    states = {n["State"] for n in ec2.describe_nat_gateways()["NatGateways"]}
    assert states <= {"deleted"}
    assert ec2.describe_addresses()["Addresses"] == []  # Elastic IPs released
    assert ec2.describe_key_pairs()["KeyPairs"] == []
    reservations = ec2.describe_instances(Filters=PROJECT_FILTER)["Reservations"]
    assert {i["State"]["Name"] for r in reservations for i in r["Instances"]} <= {"terminated"}
    assert aws.rds.describe_db_instances()["DBInstances"] == []
    assert aws.rds.describe_db_subnet_groups()["DBSubnetGroups"] == []
    assert aws.ssm.describe_parameters()["Parameters"] == []


# --- the NAT instance variant and the guard rails ------------------------------------------------

def test_nat_instance_mode_lifecycle(aws, torn_down):
    """The NAT instance variant, here with a domain for HTTPS (443 opens with it)."""
    settings = {"nat_mode": "instance", "frontend_domain": "mnist.example.test"}
    first = aws.playbook("provision.yml", **settings)
    second = aws.playbook("provision.yml", **settings)
    assert first["changed"] > 10 and second["changed"] == 0
    (frontend,) = aws.ec2.describe_security_groups(Filters=[
        *PROJECT_FILTER, {"Name": "tag:Role", "Values": ["frontend"]}])["SecurityGroups"]
    public = {(p["FromPort"], r["CidrIp"]) for p in frontend["IpPermissions"]
              for r in p.get("IpRanges", [])}
    assert public == {(80, "0.0.0.0/0"), (443, "0.0.0.0/0")}
    (nat,) = running_instances(aws)["nat"]
    assert nat["SourceDestCheck"] is False
    private = [t for t in aws.ec2.describe_route_tables(Filters=PROJECT_FILTER)["RouteTables"]
               if any(tag["Value"].endswith("-private") for tag in t["Tags"])]
    (default,) = [r for r in private[0]["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    assert default["InstanceId"] == nat["InstanceId"]
    script = base64.b64decode(aws.ec2.describe_instance_attribute(
        InstanceId=nat["InstanceId"], Attribute="userData")["UserData"]["Value"]).decode()
    assert "masquerade" in script and "apt-get" not in script  # nothing to install at boot
    assert aws.playbook("teardown.yml")["failed"] == 0
    assert aws.playbook("teardown.yml")["changed"] == 0
    assert_nothing_left(aws)


HOSTILE_ADMIN_CIDRS = ["", "0.0.0.0/0", "not-a-network", "1.2.3.4/0", "0.0.0.0/1",
                      "10.0.0.1/8", "203.0.113.7", "::/0", "203.0.113.7/33"]


def interrupt_train_yml_once_it_waits_for_ssh(aws) -> str:
    """Run train.yml and press Ctrl-C as it waits for SSH: no `always` runs, so its instance
    and security group are left behind, as after a lost controller. SSH goes nowhere
    (ProxyCommand=false): the tests address only loopback."""
    log = aws.work / "train.log"
    variables = {"admin_cidr": ADMIN_CIDR, "ssh_private_key_file": str(aws.key),
                 "ssh_known_hosts_file": str(aws.work / "known_hosts"),
                 "ansible_ssh_common_args": "-o ProxyCommand=false"}
    with log.open("w") as out:
        run = subprocess.Popen([str(VENV_BIN / "ansible-playbook"), "train.yml",
                                "-e", json.dumps(variables)], cwd=ANSIBLE_DIR, env=aws.env,
                               stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 300
            while "TASK [Wait for SSH on the training instance]" not in log.read_text():
                assert run.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.5)
            os.killpg(run.pid, signal.SIGINT)
            run.wait(timeout=60)
        finally:
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGKILL)
    return log.read_text()


def test_train_yml_refuses_a_gpu_type_it_cannot_use(aws, torn_down):
    result = aws.run("ansible-playbook", "train.yml", dev_instance_type="g5.xlarge")
    assert result.returncode != 0 and "has no NVIDIA driver" in result.stdout
    assert "dev" not in running_instances(aws)


def test_teardown_after_an_interrupted_training_run(aws, torn_down):
    """train.yml interrupted mid-run leaves its instance (set to end itself at its deadline)
    and its security group, whose rule names the bastion's group: teardown still leaves
    nothing."""
    assert aws.playbook("provision.yml")["failed"] == 0
    interrupt_train_yml_once_it_waits_for_ssh(aws)
    (dev,) = running_instances(aws)["dev"]
    behaviour = aws.ec2.describe_instance_attribute(
        InstanceId=dev["InstanceId"], Attribute="instanceInitiatedShutdownBehavior")
    assert behaviour["InstanceInitiatedShutdownBehavior"]["Value"] == "terminate"
    user_data = aws.ec2.describe_instance_attribute(InstanceId=dev["InstanceId"],
                                                    Attribute="userData")["UserData"]["Value"]
    assert re.search(r"^shutdown -P \+180 ", base64.b64decode(user_data).decode(), re.MULTILINE)
    groups = aws.ec2.describe_security_groups(Filters=[*PROJECT_FILTER,
                                                       {"Name": "tag:Role", "Values": ["dev"]}])
    assert len(groups["SecurityGroups"]) == 1
    assert aws.playbook("teardown.yml")["failed"] == 0
    assert_nothing_left(aws)


@pytest.mark.parametrize("admin_cidr", HOSTILE_ADMIN_CIDRS)
def test_provision_refuses_an_open_or_missing_admin_cidr(aws, admin_cidr):
    result = aws.run("ansible-playbook", "provision.yml", admin_cidr=admin_cidr)
    assert result.returncode != 0
    assert "set admin_cidr" in result.stdout
    assert aws.ec2.describe_vpcs(Filters=PROJECT_FILTER)["Vpcs"] == []
