"""Contracts between the playbooks that no single run shows: every security group role a
playbook creates is in teardown's order, and requirements.yml lists exactly the collections
the playbooks use."""

from __future__ import annotations

import re

import yaml

from tests.conftest import REPO_ROOT
from tests.deploy import ANSIBLE_DIR

PLAYBOOK_FILES = sorted(p for p in ANSIBLE_DIR.rglob("*.yml") if ".cache" not in p.parts)


def tasks_of(node):
    """Every task dict below a parsed playbook, tasks file or block."""
    if isinstance(node, list):
        for item in node:
            yield from tasks_of(item)
    elif isinstance(node, dict):
        if "name" in node and any("." in key for key in node):
            yield node
        for key in ("tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue",
                    "always"):
            if key in node:
                yield from tasks_of(node[key])


def parsed(path):
    return yaml.safe_load(path.read_text())


def test_every_security_group_role_is_torn_down():
    order = parsed(ANSIBLE_DIR / "roles/aws_teardown/defaults/main.yml")[
        "aws_teardown_group_order"]
    created = set()
    for path in PLAYBOOK_FILES:
        for task in tasks_of(parsed(path)):
            group = task.get("amazon.aws.ec2_security_group")
            if group and group.get("state", "present") == "present":
                created |= set(re.findall(r"'Role': '(\w+)'", str(group.get("tags", ""))))
    assert created >= {"bastion", "frontend", "backend", "nat", "dev", "db"}
    assert created <= set(order), created - set(order)


# Where a collection's name appears in a playbook: a task's module, a lookup, a filter or
# test, a map()/select() argument, an inventory plugin.
COLLECTION_USES = [re.compile(pattern) for pattern in (
    r"lookup\(\s*'([a-z_]+\.[a-z_]+)\.[a-z_]+'",
    r"\|\s*([a-z_]+\.[a-z_]+)\.[a-z_]+",
    r"\bis\s+([a-z_]+\.[a-z_]+)\.[a-z_]+",
    r"(?:map|select|reject)\(\s*'([a-z_]+\.[a-z_]+)\.[a-z_]+'",
    r"plugin:\s*([a-z_]+\.[a-z_]+)\.[a-z_]+",
)]
TASK_MODULE = re.compile(r"^([a-z_]+\.[a-z_]+)\.[a-z_]+$")


def collections_used(path) -> set[str]:
    used = {TASK_MODULE.match(key).group(1) for task in tasks_of(parsed(path))
            for key in task if TASK_MODULE.match(key)}
    text = path.read_text()
    for pattern in COLLECTION_USES:
        used |= set(pattern.findall(text))
    return used - {"ansible.builtin"}


def test_every_collection_used_is_required_and_every_required_one_used():
    required = {c["name"] for c in parsed(ANSIBLE_DIR / "requirements.yml")["collections"]}
    used = set().union(*(collections_used(p) for p in PLAYBOOK_FILES
                         if p.name != "requirements.yml"))
    assert {"amazon.aws", "community.aws", "community.general"} <= used
    assert used == required


def test_the_site_template_includes_the_folder_the_https_tasks_fill():
    template = (REPO_ROOT / "frontend/nginx/mnist.conf.template").read_text()
    defaults = yaml.safe_load((ANSIBLE_DIR / "roles/frontend/defaults/main.yml").read_text())
    assert f"include {defaults['frontend_site_include_dir']}/*.conf;" in template


def test_every_role_declares_its_inputs():
    roles = sorted(p for p in (ANSIBLE_DIR / "roles").iterdir() if (p / "tasks").is_dir())
    assert [r.name for r in roles if not (r / "meta/argument_specs.yml").exists()] == []
