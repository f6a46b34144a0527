"""The AWS deployment, checked offline: cfn-lint, the project's own rules for infra/template.yaml, the
Dagster instance it ships for ECS, the container files (Docker cannot run here, so their inputs are
checked) and the CI workflow. Nothing here calls AWS."""

from __future__ import annotations

import importlib.util
import re
import shlex
import uuid
from urllib.parse import unquote, urlsplit

import psycopg
import pytest
import yaml
from cfnlint.api import ManualArgs, lint_file
from cfnlint.decode import decode_str

from tests.support import EXTERNAL_ADMIN_URL, REPO, environment

INFRA = REPO / "infra"
TEMPLATE = INFRA / "template.yaml"
# Where each Dockerfile's WORKDIR puts the repository inside its image.
IMAGE_ROOTS = {"dagster": "/opt/dagster/app/", "superset": "/opt/superset/app/"}


@pytest.fixture(scope="module")
def template() -> dict:
    parsed, errors = decode_str(TEMPLATE.read_text())
    assert not errors, errors
    return parsed


def of_type(template: dict, type_: str) -> dict:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == type_}


def statements(role: dict) -> list[dict]:
    return [s for policy in role["Properties"].get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def strings(node):
    """Every string in a parsed template node, intrinsic functions included."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def secret_reference(value) -> str | None:
    """Which secret a value points at: a secret resource's name, "master" for the RDS-managed secret."""
    text = " ".join(strings(value))
    if "Database.MasterUserSecret.SecretArn" in text or value == {
        "Fn::GetAtt": ["Database", "MasterUserSecret.SecretArn"]
    }:
        return "master"
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return value["Ref"]
    return None


def containers(template: dict) -> list[dict]:
    return [
        c
        for task in of_type(template, "AWS::ECS::TaskDefinition").values()
        for c in task["Properties"]["ContainerDefinitions"]
    ]


@pytest.mark.unit
def test_cfn_lint_reports_nothing():
    matches = lint_file(TEMPLATE, config=ManualArgs(regions=["us-east-1", "eu-west-1"]))
    assert [str(m) for m in matches] == []


@pytest.mark.unit
def test_no_role_has_a_wildcard_action_and_the_trigger_role_is_minimal(template):
    roles = of_type(template, "AWS::IAM::Role")
    for name, role in roles.items():
        assert "ManagedPolicyArns" not in role["Properties"], f"{name}: every permission should be readable here"
        for statement in statements(role):
            assert not [a for a in as_list(statement["Action"]) if "*" in a], f"{name}: {statement}"
    for name, policy in of_type(template, "AWS::IAM::ManagedPolicy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert not [a for a in as_list(statement["Action"]) if "*" in a], f"{name}: {statement}"

    trigger = template["Resources"]["TriggerFunction"]["Properties"]
    assert trigger["Role"] == {"Fn::GetAtt": ["TriggerRole", "Arn"]}
    actions = {a for s in statements(roles["TriggerRole"]) for a in as_list(s["Action"])}
    assert {a.split(":")[0] for a in actions} == {"logs", "sqs", "kms", "ec2", "secretsmanager"}
    assert not {a for a in actions if a.startswith("sqs:") and a != "sqs:GetQueueAttributes"} - {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
    }
    for statement in statements(roles["TriggerRole"]):
        if statement["Resource"] == "*":  # only the VPC interface actions lack resource-level permissions
            assert all(
                a.startswith("ec2:") and "NetworkInterface" in a or a.endswith("PrivateIpAddresses")
                for a in as_list(statement["Action"])
            ), statement


@pytest.mark.unit
def test_the_bucket_is_private_versioned_encrypted_and_zoned(template):
    bucket = template["Resources"]["DataBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert "AccessControl" not in bucket
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    assert (
        bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"][
            "SSEAlgorithm"
        ]
        == "aws:kms"
    )
    rule_prefixes = " ".join(strings([r.get("Prefix", "") for r in bucket["LifecycleConfiguration"]["Rules"]]))
    for zone in ("landing/", "raw/", "quarantine/"):
        assert zone in rule_prefixes
    (notification,) = bucket["NotificationConfiguration"]["QueueConfigurations"]
    assert notification["Event"] == "s3:ObjectCreated:*"
    assert "landing/" in " ".join(strings(notification["Filter"]))

    for policy in of_type(template, "AWS::S3::BucketPolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert not (statement["Effect"] == "Allow" and statement.get("Principal") in ("*", {"AWS": "*"}))
    tls = template["Resources"]["DataBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert (tls["Effect"], tls["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})


@pytest.mark.unit
def test_everything_at_rest_is_encrypted(template):
    key = template["Resources"]["DataKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    for name, queue in of_type(template, "AWS::SQS::Queue").items():
        assert "KmsMasterKeyId" in queue["Properties"], name
    for name, topic in of_type(template, "AWS::SNS::Topic").items():
        assert "KmsMasterKeyId" in topic["Properties"], name
    for name, database in of_type(template, "AWS::RDS::DBInstance").items():
        assert database["Properties"]["StorageEncrypted"] is True and "KmsKeyId" in database["Properties"], name
    for name, group in of_type(template, "AWS::Logs::LogGroup").items():
        assert "KmsKeyId" in group["Properties"], name
    for name, secret in of_type(template, "AWS::SecretsManager::Secret").items():
        assert "KmsKeyId" in secret["Properties"], name
    assert "KmsKeyArn" in template["Resources"]["TriggerFunction"]["Properties"]


@pytest.mark.unit
def test_every_secret_comes_from_secrets_manager(template):
    for name, parameter in template["Parameters"].items():
        assert not (parameter.get("NoEcho") and "Default" in parameter), name
        assert not re.search(r"password|secret(?!arn)|token", name, re.IGNORECASE), f"{name}: pass secrets by reference"
    for name, database in of_type(template, "AWS::RDS::DBInstance").items():
        assert database["Properties"]["ManageMasterUserPassword"] is True, name
        assert "MasterUserPassword" not in database["Properties"], name
    for secret in of_type(template, "AWS::SecretsManager::Secret").values():
        assert "SecretString" not in secret["Properties"] and "GenerateSecretString" in secret["Properties"]

    secret_like = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$|AUTH")
    for container in containers(template):
        # a name ending in _ARN may say "secret": it carries where the secret is, not its value
        for variable in container.get("Environment", []):
            if secret_like.search(variable["Name"]):
                assert variable["Name"].endswith("_ARN") and secret_reference(variable["Value"]), variable
        for secret in container.get("Secrets", []):
            reference = " ".join(strings(secret["ValueFrom"]))
            assert "MasterUserSecret.SecretArn" in reference or secret["ValueFrom"].get("Ref") in of_type(
                template, "AWS::SecretsManager::Secret"
            ), secret
    lambda_env = template["Resources"]["TriggerFunction"]["Properties"]["Environment"]["Variables"]
    for name, value in lambda_env.items():
        # no secret value in the function's configuration, not even resolved at deployment
        assert "resolve:secretsmanager" not in " ".join(strings(value)), name
        if secret_like.search(name):
            assert name.endswith("_ARN") and secret_reference(value), name

    shipped = (INFRA / "dagster" / "dagster.yaml").read_text()
    assert yaml.safe_load(shipped)["storage"]["postgres"]["postgres_db"]["password"] == {"env": "PULSEOPS_DB_PASSWORD"}


@pytest.mark.unit
def test_every_log_group_has_a_retention_and_every_log_has_a_group(template):
    groups = of_type(template, "AWS::Logs::LogGroup")
    for name, group in groups.items():
        assert group["Properties"]["RetentionInDays"], name
    # Anything writing to a group the template does not own would create one with no retention.
    trigger = template["Resources"]["TriggerFunction"]["Properties"]
    assert trigger["LoggingConfig"]["LogGroup"]["Ref"] in groups
    for container in containers(template):
        assert container["LogConfiguration"]["Options"]["awslogs-group"]["Ref"] in groups, container["Name"]


@pytest.mark.unit
def test_alarms_watch_the_trigger_the_dead_letter_queue_and_failed_runs(template, capfd):
    alarms = of_type(template, "AWS::CloudWatch::Alarm").values()
    watched = {
        (
            a["Properties"]["Namespace"],
            a["Properties"]["MetricName"] if isinstance(a["Properties"]["MetricName"], str) else "filter",
        )
        for a in alarms
    }
    assert {
        ("AWS/Lambda", "Errors"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("PulseOps", "filter"),
    } <= watched

    queue = template["Resources"]["LandingQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["LandingDeadLetterQueue", "Arn"]}
    mapping = template["Resources"]["TriggerEventSource"]["Properties"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert queue["VisibilityTimeout"] >= 6 * template["Resources"]["TriggerFunction"]["Properties"]["Timeout"]

    # The failed-runs filter matches what a failing Dagster run actually writes.
    import dagster as dg

    @dg.op
    def breaks():
        raise RuntimeError("on purpose")

    @dg.job
    def failing():
        breaks()

    failing.execute_in_process(raise_on_error=False)
    output = "".join(capfd.readouterr())
    pattern = template["Resources"]["FailedRunsMetricFilter"]["Properties"]["FilterPattern"]
    terms = re.findall(r'"([^"]+)"', pattern)
    assert terms and any(all(term in line for term in terms) for line in output.splitlines())


@pytest.mark.unit
def test_the_environment_parameter_picks_dev_or_prod(template):
    environments = template["Parameters"]["Environment"]["AllowedValues"]
    mapping = template["Mappings"]["EnvironmentConfig"]
    assert sorted(environments) == sorted(mapping) == ["dev", "prod"]
    assert mapping["dev"].keys() == mapping["prod"].keys()
    text = TEMPLATE.read_text()
    for setting in mapping["dev"]:
        assert f"!Ref Environment, {setting}]" in text, f"{setting} is never used"
    assert template["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Environment"}, "prod"]}


@pytest.mark.unit
def test_the_dagster_instance_for_ecs_is_valid():
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config
    from dagster._core.workspace.config_schema import ensure_workspace_config
    from dagster_aws.ecs import EcsRunLauncher

    from infra.run_tag_policy import NoEcsTagsRunCoordinator

    values = {
        "PULSEOPS_DB_HOST": "db",
        "PULSEOPS_DB_PORT": "5432",
        "PULSEOPS_DB_USER": "u",
        "PULSEOPS_DB_PASSWORD": uuid.uuid4().hex,
        "PULSEOPS_METADATA_DB": "dagster",
        "DAGSTER_RUN_TASK_DEFINITION": "pulseops-dev-dagster-run",
        "DAGSTER_CODE_SERVER_HOST": "code",
    }
    with environment(**values):
        config, _ = dagster_instance_config(str(INFRA / "dagster"))
        launcher = config["run_launcher"]
        assert (launcher["module"], launcher["class"]) == ("dagster_aws.ecs", "EcsRunLauncher")
        checked = process_config(EcsRunLauncher.config_type(), launcher["config"])
        assert checked.success, checked.errors
        coordinator = config["run_coordinator"]
        assert (coordinator["module"], coordinator["class"]) == ("infra.run_tag_policy", "NoEcsTagsRunCoordinator")
        checked = process_config(NoEcsTagsRunCoordinator.config_type(), coordinator.get("config", {}))
        assert checked.success, checked.errors
        # one dbt build and one load per entity at a time; failed runs run again
        assert config["concurrency"]["pools"]["default_limit"] == 1
        assert config["run_retries"] == {"enabled": True, "max_retries": 2}
        workspace_path = INFRA / "dagster" / "workspace.yaml"
        ensure_workspace_config(yaml.safe_load(workspace_path.read_text()), str(workspace_path))
    assert config["storage"]["postgres"]["postgres_db"]["scheme"] == "postgresql+psycopg2"


@pytest.mark.unit
def test_container_commands_use_files_that_exist(template):
    images = {"DagsterImage": "dagster", "SupersetImage": "superset"}
    for container in containers(template):
        root = IMAGE_ROOTS[images[container["Image"]["Ref"]]]
        for word in container.get("Command", []):
            if word.startswith(root):
                assert (REPO / word[len(root) :]).exists(), word
    assert (INFRA / template["Resources"]["TriggerFunction"]["Properties"]["CodeUri"]).exists()
    handler_module, handler = template["Resources"]["TriggerFunction"]["Properties"]["Handler"].split(".")
    assert f"def {handler}(" in (INFRA / f"{handler_module}.py").read_text()


@pytest.mark.unit
@pytest.mark.parametrize(
    ("image", "locks"), [("dagster", ["requirements.lock"]), ("superset", ["superset_config/requirements.lock"])]
)
def test_dockerfiles_install_the_lock_files_and_copy_what_exists(image, locks):
    dockerfile = (INFRA / "docker" / f"{image}.Dockerfile").read_text()
    instructions = re.sub(r"\\\n", " ", dockerfile).splitlines()
    copied = []
    for line in instructions:
        if line.startswith("COPY ") and "--from" not in line:
            *sources, _ = shlex.split(line)[1:]
            copied += sources
    ignore = (INFRA / "docker" / f"{image}.Dockerfile.dockerignore").read_text().splitlines()
    sent = [line[1:].rstrip("/") for line in ignore if line.startswith("!")]
    assert "*" in ignore
    for source in copied:
        assert (REPO / source).exists(), f"{image}: COPY {source}"
        assert any(source.rstrip("/") == s or source.startswith(s + "/") for s in sent), f"{source} is not sent"
    for lock in locks:
        assert (REPO / lock).exists() and lock in copied
        assert re.search(rf"uv pip sync [^&]*{re.escape(lock)}", dockerfile), lock
    entrypoint = re.search(r'ENTRYPOINT \["python", "([^"]+)"\]', dockerfile).group(1)
    assert entrypoint.startswith(IMAGE_ROOTS[image]) and (REPO / entrypoint[len(IMAGE_ROOTS[image]) :]).exists()
    if image == "dagster":
        assert "dagster-dbt project prepare-and-package --file orchestration/dbt_project.py" in dockerfile
        assert (REPO / "orchestration" / "dbt_project.py").exists()
        assert "cp infra/dagster/dagster.yaml" in dockerfile


def _entrypoint():
    spec = importlib.util.spec_from_file_location("entrypoint", INFRA / "docker" / "entrypoint.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_entrypoint_builds_urls_and_creates_the_metadata_database():
    entrypoint = _entrypoint()
    password = uuid.uuid4().hex + "@:/?#% "  # RDS passwords may hold URL syntax
    admin = urlsplit(EXTERNAL_ADMIN_URL)
    env = {
        "PULSEOPS_DB_HOST": admin.hostname,
        "PULSEOPS_DB_PORT": str(admin.port or 5432),
        "PULSEOPS_DB_USER": admin.username,
        "PULSEOPS_DB_PASSWORD": password,
        "PULSEOPS_DB_SSLMODE": "prefer",
        "PULSEOPS_DB_NAME": "pulseops",
        "PULSEOPS_METADATA_DB": f"pulseops_meta_{uuid.uuid4().hex[:8]}",
    }

    derived = entrypoint.derived_environment(env)

    url = urlsplit(derived["DATABASE_URL"])
    assert (unquote(url.password), url.hostname, url.path) == (password, admin.hostname, "/pulseops")
    assert entrypoint.derived_environment({**env, "DATABASE_URL": "set"}).get("DATABASE_URL") is None
    try:
        assert entrypoint.ensure_database(env, env["PULSEOPS_METADATA_DB"]) is True
        assert entrypoint.ensure_database(env, env["PULSEOPS_METADATA_DB"]) is False
    finally:
        with psycopg.connect(EXTERNAL_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{env["PULSEOPS_METADATA_DB"]}"')
    with pytest.raises(ValueError):
        entrypoint.ensure_database(env, 'x"; drop database pulseops; --')


@pytest.mark.unit
def test_ci_runs_the_same_command_as_ci_run():
    assert "make test" in (REPO / ".ci" / "run").read_text()
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    (job,) = workflow["jobs"].values()
    assert job["runs-on"].startswith("ubuntu")
    steps = job["steps"]
    assert any(s.get("with", {}).get("python-version") == "3.11" for s in steps)
    assert [s["run"] for s in steps if s.get("run", "").strip() == ".ci/run"]
    (postgres,) = job["services"].values()
    assert "5432:5432" in postgres["ports"]


@pytest.mark.unit
def test_superset_connects_as_the_analyst_login_without_master_credentials():
    entrypoint = _entrypoint()
    analyst, metadata = uuid.uuid4().hex + "@:/", uuid.uuid4().hex
    superset_env = {
        "PULSEOPS_DB_HOST": "db.internal",
        "PULSEOPS_DB_PORT": "5432",
        "PULSEOPS_DB_NAME": "pulseops",
        "PULSEOPS_ANALYST_PASSWORD": analyst,
        "PULSEOPS_SUPERSET_DB_PASSWORD": metadata,
    }

    derived = entrypoint.derived_environment(superset_env)

    assert "DATABASE_URL" not in derived and "PULSEOPS_WAREHOUSE_URI" not in derived
    for name, login, database, secret in [
        ("PULSEOPS_ANALYST_URI", "pulseops_analyst", "/pulseops", analyst),
        ("SUPERSET_METADATA_URL", "pulseops_superset", "/superset", metadata),
    ]:
        url = urlsplit(derived[name])
        assert (url.scheme, url.username, unquote(url.password), url.hostname, url.port, url.path, url.query) == (
            "postgresql+psycopg2",
            login,
            secret,
            "db.internal",
            5432,
            database,
            "sslmode=require",
        ), name


# --- who can do what on AWS ----------------------------------------------------------------------


def actions_of(listener_or_rule: dict) -> list[dict]:
    properties = listener_or_rule["Properties"]
    return properties.get("DefaultActions") or properties.get("Actions") or []


def forwards_to(action: dict, target_group: str) -> bool:
    groups = [action.get("TargetGroupArn")] + [
        g.get("TargetGroupArn") for g in action.get("ForwardConfig", {}).get("TargetGroups", [])
    ]
    return action["Type"] == "forward" and {"Ref": target_group} in groups


@pytest.mark.unit
def test_people_reach_the_dagster_ui_only_after_signing_in(template):
    resources = template["Resources"]
    routes = {
        **of_type(template, "AWS::ElasticLoadBalancingV2::Listener"),
        **of_type(template, "AWS::ElasticLoadBalancingV2::ListenerRule"),
    }
    dagster_routes = 0
    for name, route in routes.items():
        actions = actions_of(route)
        for action in actions:
            if forwards_to(action, "DagsterTargetGroup"):
                dagster_routes += 1
                signs_in = [a for a in actions if a["Type"] in ("authenticate-cognito", "authenticate-oidc")]
                assert signs_in and all(a["Order"] < action["Order"] for a in signs_in), (
                    f"{name} forwards unauthenticated"
                )
                assert all(
                    a.get(f"Authenticate{'Cognito' if a['Type'].endswith('cognito') else 'Oidc'}Config", {}).get(
                        "OnUnauthenticatedRequest", "authenticate"
                    )
                    != "allow"
                    for a in signs_in
                ), name
    assert dagster_routes >= 1
    # the only other user of the target group is the webserver service
    users = [
        name for name, r in resources.items() if name not in routes and {"Ref": "DagsterTargetGroup"} in list(_refs(r))
    ]
    assert users == ["DagsterWebserverService"]
    pool = resources["DagsterUserPool"]["Properties"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["MfaConfiguration"] == "ON"
    assert resources["HttpRedirectListener"]["Properties"]["DefaultActions"][0]["Type"] == "redirect"


def _refs(node):
    if isinstance(node, dict):
        if set(node) == {"Ref"}:
            yield node
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def ingress_rules(template: dict, group: str) -> list[dict]:
    """Every ingress rule of a security group, inline or as its own resource."""
    resources = template["Resources"]
    rules = list(resources[group]["Properties"].get("SecurityGroupIngress", []))
    rules += [
        r["Properties"]
        for r in of_type(template, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Ref": group}
    ]
    return rules


@pytest.mark.unit
def test_the_webserver_admits_only_the_load_balancer_and_the_trigger_through_the_gateway(template):
    resources = template["Resources"]
    rules = {
        (r["FromPort"], r["ToPort"], r.get("SourceSecurityGroupId", {}).get("Ref"), r.get("CidrIp"))
        for r in ingress_rules(template, "DagsterWebserverSecurityGroup")
    }
    assert rules == {(3000, 3000, "LoadBalancerSecurityGroup", None), (8080, 8080, "TriggerSecurityGroup", None)}
    for name, service in of_type(template, "AWS::ECS::Service").items():
        groups = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
        assert ({"Ref": "DagsterWebserverSecurityGroup"} in groups) == (name == "DagsterWebserverService"), name
    # port 3000 is the webserver container, 8080 the gateway beside it (nothing else in the task)
    task = resources["DagsterWebserverTask"]["Properties"]["ContainerDefinitions"]
    ports = {c["Name"]: [m["ContainerPort"] for m in c.get("PortMappings", [])] for c in task}
    assert ports == {"webserver": [3000], "gateway": [8080]}
    (gateway,) = [c for c in task if c["Name"] == "gateway"]
    assert gateway["Command"] == ["python", "/opt/dagster/app/infra/launch_gateway.py"]
    assert "127.0.0.1:8080/health" in " ".join(gateway["HealthCheck"]["Command"])
    assert "/health" in (INFRA / "launch_gateway.py").read_text()
    gateway_env = {e["Name"]: e["Value"] for e in gateway["Environment"]}
    assert gateway_env["PULSEOPS_GATEWAY_UPSTREAM"] == "http://127.0.0.1:3000/graphql"
    assert gateway_env["PULSEOPS_GATEWAY_PORT"] == "8080"
    # the trigger may open connections to the gateway only (and Secrets Manager over HTTPS)
    egress = resources["TriggerSecurityGroup"]["Properties"]["SecurityGroupEgress"]
    assert {(e["FromPort"], e.get("DestinationSecurityGroupId", {}).get("Ref")) for e in egress} == {
        (8080, "DagsterWebserverSecurityGroup"),
        (443, None),
    }
    lambda_url = " ".join(
        strings(resources["TriggerFunction"]["Properties"]["Environment"]["Variables"]["DAGSTER_GRAPHQL_URL"])
    )
    assert ":8080/graphql" in lambda_url
    # Redis: Superset's web tasks and its worker and beat only
    assert sorted(
        (r["FromPort"], r["SourceSecurityGroupId"]["Ref"]) for r in ingress_rules(template, "CacheSecurityGroup")
    ) == [(6379, "SupersetSecurityGroup"), (6379, "SupersetWorkerSecurityGroup")]


@pytest.mark.unit
def test_the_trigger_reads_its_token_from_secrets_manager(template):
    resources = template["Resources"]
    variables = resources["TriggerFunction"]["Properties"]["Environment"]["Variables"]
    assert "DAGSTER_AUTH_HEADER" not in variables
    assert variables["DAGSTER_TOKEN_SECRET_ARN"] == {"Ref": "LaunchGatewayToken"}
    reads = [s for s in statements(resources["TriggerRole"]) if "secretsmanager:GetSecretValue" in as_list(s["Action"])]
    assert [(s["Effect"], s["Resource"]) for s in reads] == [("Allow", {"Ref": "LaunchGatewayToken"})]
    gateway = next(c for c in containers(template) if c["Name"] == "gateway")
    assert gateway["Secrets"] == [{"Name": "PULSEOPS_GATEWAY_TOKEN", "ValueFrom": {"Ref": "LaunchGatewayToken"}}]
    handler = (INFRA / "lambda_handler.py").read_text()
    assert 'env.get("DAGSTER_TOKEN_SECRET_ARN"' in handler and "DAGSTER_AUTH_HEADER" not in handler


def _secret_arns_read_by(role: dict) -> set[str]:
    read = set()
    for statement in statements(role):
        if statement["Effect"] == "Allow" and "secretsmanager:GetSecretValue" in as_list(statement["Action"]):
            for resource in as_list(statement["Resource"]):
                assert resource != "*"
                read.add(secret_reference(resource))
    return read


@pytest.mark.unit
def test_each_task_has_its_own_execution_role_that_reads_only_its_own_secrets(template):
    resources = template["Resources"]
    tasks = of_type(template, "AWS::ECS::TaskDefinition")
    execution_roles = [task["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0] for task in tasks.values()]
    assert len(set(execution_roles)) == len(tasks) == 7, execution_roles
    for name, task in tasks.items():
        role = resources[task["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]]
        injected = {
            secret_reference(s["ValueFrom"])
            for c in task["Properties"]["ContainerDefinitions"]
            for s in c.get("Secrets", [])
        }
        assert None not in injected and _secret_arns_read_by(role) == injected, name
    # what all of them share: images from pulseops-* repositories, logs, the key; no secret
    (shared,) = of_type(template, "AWS::IAM::ManagedPolicy").values()
    assert sorted(r["Ref"] for r in shared["Properties"]["Roles"]) == sorted(execution_roles)
    shared_statements = shared["Properties"]["PolicyDocument"]["Statement"]
    assert not [s for s in shared_statements if any(a.startswith("secretsmanager:") for a in as_list(s["Action"]))]
    pull = next(s for s in shared_statements if "ecr:BatchGetImage" in s["Action"])
    assert " ".join(strings(pull["Resource"])).endswith(":repository/pulseops-*")
    # no other role reads a secret the services do not hold already
    services_reading = {
        "TriggerRole": {"LaunchGatewayToken"},
        "DagsterRunRole": {"master"},
        "DagsterControlRole": {"master"},
        "DagsterCodeServerRole": {"master"},
    }
    for name, role in of_type(template, "AWS::IAM::Role").items():
        if name not in execution_roles:
            assert _secret_arns_read_by(role) == services_reading.get(name, set()), name


@pytest.mark.unit
def test_superset_holds_the_analyst_login_and_production_settings_not_the_master_password(template):
    resources = template["Resources"]
    (superset,) = resources["SupersetTask"]["Properties"]["ContainerDefinitions"]
    secrets = {s["Name"]: secret_reference(s["ValueFrom"]) for s in superset["Secrets"]}
    assert "master" not in secrets.values() and "PULSEOPS_DB_PASSWORD" not in secrets
    assert secrets == {
        "SUPERSET_SECRET_KEY": "SupersetSecretKey",
        "SUPERSET_ADMIN_PASSWORD": "SupersetAdminPassword",
        "PULSEOPS_ANALYST_PASSWORD": "AnalystPassword",
        "PULSEOPS_CLIENT_LOGIN_KEY": "ClientLoginKey",
        "PULSEOPS_SUPERSET_DB_PASSWORD": "SupersetDatabasePassword",
    }
    env = {e["Name"]: e["Value"] for e in superset["Environment"]}
    assert env["PULSEOPS_ENV"] == "production"
    redis_url = env["SUPERSET_CACHE_REDIS_URL"]["Fn::Sub"]
    assert redis_url.startswith("rediss://${SupersetCache.PrimaryEndPoint.Address}:")
    assert "PULSEOPS_METADATA_DB" not in env  # it creates no database: it has no login that could
    cache = resources["SupersetCache"]["Properties"]
    assert cache["TransitEncryptionEnabled"] is True and cache["AtRestEncryptionEnabled"] is True
    assert cache["SecurityGroupIds"] == [{"Ref": "CacheSecurityGroup"}]
    # generated once and kept: a stack update does not change them, no run regenerates them
    for secret in ("AnalystPassword", "ClientLoginKey", "SupersetDatabasePassword"):
        generated = resources[secret]["Properties"]["GenerateSecretString"]
        assert generated["PasswordLength"] >= 32 and "SecretString" not in resources[secret]["Properties"]
    assert resources["ClientLoginKey"]["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    # the dbt steps (code server, runs) set the analyst login's password; the code server derives client logins
    for task, expected in [
        ("DagsterCodeServerTask", {"AnalystPassword", "ClientLoginKey", "SupersetDatabasePassword"}),
        ("DagsterRunTask", {"AnalystPassword"}),
    ]:
        (container,) = resources[task]["Properties"]["ContainerDefinitions"]
        assert expected <= {secret_reference(s["ValueFrom"]) for s in container["Secrets"]}, task
    # Superset's metadata login is created by the code server, which the stack starts first
    assert "DagsterCodeServerService" in resources["SupersetService"]["DependsOn"]


def test_the_bi_tier_scales_out_with_a_worker_one_beat_and_autoscaled_web_tasks(template):
    resources = template["Resources"]
    redis = {
        e["Name"]: e["Value"] for e in resources["SupersetTask"]["Properties"]["ContainerDefinitions"][0]["Environment"]
    }["SUPERSET_CACHE_REDIS_URL"]
    commands = {}
    for task in ("SupersetWorkerTask", "SupersetBeatTask"):
        (container,) = resources[task]["Properties"]["ContainerDefinitions"]
        env = {e["Name"]: e["Value"] for e in container["Environment"]}
        # the same Redis as the web tasks (broker, results, caches), in production mode
        assert env["SUPERSET_CACHE_REDIS_URL"] == redis and env["PULSEOPS_ENV"] == "production", task
        assert container["Image"] == {"Ref": "SupersetImage"}
        commands[task] = container["Command"]
        secrets = {s["Name"]: secret_reference(s["ValueFrom"]) for s in container["Secrets"]}
        assert "master" not in secrets.values() and "SUPERSET_ADMIN_PASSWORD" not in secrets, task
    assert commands["SupersetWorkerTask"][:3] == ["celery", "--app=superset.tasks.celery_app:app", "worker"]
    assert commands["SupersetBeatTask"][:3] == ["celery", "--app=superset.tasks.celery_app:app", "beat"]
    (worker,) = resources["SupersetWorkerTask"]["Properties"]["ContainerDefinitions"]
    worker_env = {e["Name"]: e["Value"] for e in worker["Environment"]}
    # the report browser reaches the web tasks by their service-discovery name; the mail password is a secret
    assert worker_env["SUPERSET_WEBDRIVER_BASEURL"]["Fn::Sub"].startswith(
        "http://superset.${Environment}.pulseops.internal:8088"
    )
    assert {s["Name"]: secret_reference(s["ValueFrom"]) for s in worker["Secrets"]}[
        "SUPERSET_SMTP_PASSWORD"
    ] == "ReportSmtpPassword"
    assert "SUPERSET_SMTP_PASSWORD" not in worker_env
    assert resources["SupersetService"]["Properties"]["ServiceRegistries"] == [
        {"RegistryArn": {"Fn::GetAtt": ["SupersetDiscovery", "Arn"]}}
    ]
    # exactly one beat, even during a deployment
    beat = resources["SupersetBeatService"]["Properties"]
    assert beat["DesiredCount"] == 1 and beat["DeploymentConfiguration"]["MaximumPercent"] == 100
    # web tasks and workers scale between the environment's bounds; the web tasks also on load-balancer requests
    targets = {
        t["Properties"]["ResourceId"]["Fn::Sub"]: t
        for t in of_type(template, "AWS::ApplicationAutoScaling::ScalableTarget").values()
    }
    assert sorted(targets) == [
        "service/${Cluster}/${SupersetService.Name}",
        "service/${Cluster}/${SupersetWorkerService.Name}",
    ]
    policies = [p["Properties"] for p in of_type(template, "AWS::ApplicationAutoScaling::ScalingPolicy").values()]
    metrics = sorted(
        p["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]["PredefinedMetricType"]
        for p in policies
    )
    assert metrics == ["ALBRequestCountPerTarget", "ECSServiceAverageCPUUtilization", "ECSServiceAverageCPUUtilization"]
    # the worker reaches Redis, PostgreSQL and the web tasks; each admits it
    ingress = {
        (r["Properties"]["GroupId"]["Ref"], r["Properties"]["FromPort"])
        for r in of_type(template, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"].get("SourceSecurityGroupId") == {"Ref": "SupersetWorkerSecurityGroup"}
    }
    assert ingress == {("CacheSecurityGroup", 6379), ("DatabaseSecurityGroup", 5432), ("SupersetSecurityGroup", 8088)}
    # alarms: a worker or beat not running, workers at their limit, Redis memory, Superset errors
    watched = {
        (a["Properties"]["Namespace"], str(a["Properties"]["MetricName"]), str(a["Properties"].get("Dimensions")))
        for a in of_type(template, "AWS::CloudWatch::Alarm").values()
    }
    for service in ("SupersetWorkerService", "SupersetBeatService"):
        assert any(
            ns == "ECS/ContainerInsights" and metric == "RunningTaskCount" and service in dims
            for ns, metric, dims in watched
        ), service
    assert {
        ("AWS/ElastiCache", "DatabaseMemoryUsagePercentage"),
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
        ("AWS/ECS", "CPUUtilization"),
    } <= {(ns, metric) for ns, metric, _ in watched}
    # the image carries Debian's chromium and chromedriver for the reports
    dockerfile = (INFRA / "docker" / "superset.Dockerfile").read_text()
    assert re.search(r"apt-get install [^&]*chromium chromium-driver", dockerfile)


def _rendered(resource) -> list[str]:
    """An S3 ARN pattern with S3KeyPrefix empty and set ("acme/")."""
    if isinstance(resource, dict) and "Fn::Sub" in resource and isinstance(resource["Fn::Sub"], list):
        text, names = resource["Fn::Sub"]
        return (
            [text.replace("${Bucket}", "arn:aws:s3:::bucket").replace("${Prefix}", prefix) for prefix in ("", "acme/")]
            if set(names) == {"Bucket", "Prefix"}
            else [text]
        )
    if isinstance(resource, dict) and resource.get("Fn::GetAtt") == ["DataBucket", "Arn"]:
        return ["arn:aws:s3:::bucket"]
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        return [resource["Fn::Sub"].replace("${DataBucket.Arn}", "arn:aws:s3:::bucket")]
    return [" ".join(strings(resource))]


@pytest.mark.unit
@pytest.mark.parametrize("role_name", ["DagsterRunRole", "DagsterCodeServerRole"])
def test_the_pipeline_roles_cannot_overwrite_or_delete_landing_files(template, role_name):
    import fnmatch

    role = template["Resources"][role_name]
    allowed, denied = [], []
    for statement in statements(role):
        for action in as_list(statement["Action"]):
            if action.startswith("s3:"):
                for resource in as_list(statement["Resource"]):
                    for pattern in _rendered(resource):
                        (allowed if statement["Effect"] == "Allow" else denied).append((action, pattern))

    def may(action: str, key: str) -> bool:
        arn = f"arn:aws:s3:::bucket/{key}"
        if any(a == action and fnmatch.fnmatchcase(arn, p) for a, p in denied):
            return False
        return any(a == action and fnmatch.fnmatchcase(arn, p) for a, p in allowed)

    for prefix in ("", "acme/"):
        assert may("s3:GetObject", f"{prefix}landing/psa/tickets/t.csv")
        for zone in ("raw", "quarantine", "models"):
            # runs write their zones; the code server (sensors) writes nowhere
            assert may("s3:PutObject", f"{prefix}{zone}/psa/tickets/x") == (role_name == "DagsterRunRole"), zone
        landing_file = f"{prefix}landing/psa/tickets/t.csv"
        for action in ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"):
            assert not may(action, landing_file), action
            # not even allowed and then denied: the Deny is a second line, not the only one
            assert not [
                p for a, p in allowed if a == action and fnmatch.fnmatchcase(f"arn:aws:s3:::bucket/{landing_file}", p)
            ]
    assert not [a for a, _ in allowed if a.startswith("s3:Delete")]
    assert not [p for _, p in allowed if p.endswith("bucket/*")], "no action on the whole bucket"


@pytest.mark.unit
def test_runs_start_from_the_templates_run_task_definition_only(template):
    resources = template["Resources"]
    run_task = resources["DagsterRunTask"]["Properties"]
    assert run_task["TaskRoleArn"] == {"Fn::GetAtt": ["DagsterRunRole", "Arn"]}
    (run_container,) = run_task["ContainerDefinitions"]
    shipped = yaml.safe_load((INFRA / "dagster" / "dagster.yaml").read_text())["run_launcher"]["config"]
    assert shipped["task_definition"] == {"env": "DAGSTER_RUN_TASK_DEFINITION"}
    assert shipped["container_name"] == run_container["Name"]
    for task in ("DagsterWebserverTask", "DagsterDaemonTask"):
        container = resources[task]["Properties"]["ContainerDefinitions"][0]
        assert {"Name": "DAGSTER_RUN_TASK_DEFINITION", "Value": {"Ref": "DagsterRunTask"}} in container["Environment"]
    control = statements(resources["DagsterControlRole"])
    actions = {a for s in control for a in as_list(s["Action"])}
    assert "ecs:RegisterTaskDefinition" not in actions  # nothing can register a task with other roles
    (run_task_statement,) = [s for s in control if "ecs:RunTask" in as_list(s["Action"])]
    assert run_task_statement["Resource"]["Fn::Sub"].endswith(":task-definition/pulseops-${Environment}-dagster-run:*")
    assert run_task["Family"] == {"Fn::Sub": "pulseops-${Environment}-dagster-run"}
    (pass_role,) = [s for s in control if "iam:PassRole" in as_list(s["Action"])]
    assert pass_role["Resource"] == [
        {"Fn::GetAtt": ["DagsterRunRole", "Arn"]},
        {"Fn::GetAtt": ["RunExecutionRole", "Arn"]},
    ]


@pytest.mark.unit
def test_long_running_dagster_tasks_are_replaced_when_their_database_password_is_rotated(template):
    resources = template["Resources"]
    for task in ("DagsterWebserverTask", "DagsterDaemonTask", "DagsterCodeServerTask"):
        container = resources[task]["Properties"]["ContainerDefinitions"][0]
        assert container["HealthCheck"]["Command"] == [
            "CMD",
            "python",
            "/opt/dagster/app/infra/docker/entrypoint.py",
            "--check-database",
        ], task
        env = {e["Name"]: e["Value"] for e in container["Environment"]}
        assert secret_reference(env["PULSEOPS_DB_SECRET_ARN"]) == "master", task
    (run_container,) = resources["DagsterRunTask"]["Properties"]["ContainerDefinitions"]
    assert (
        secret_reference({e["Name"]: e["Value"] for e in run_container["Environment"]}["PULSEOPS_DB_SECRET_ARN"])
        == "master"
    )


def test_the_run_launcher_starts_runs_from_the_run_task_definition(template, s3_endpoint):
    """The shipped launcher config, built against the ECS API (moto_server stands in for the AWS control
    plane): it finds the template's run task definition and its container, and registers nothing."""
    import boto3
    from dagster._core.instance.config import dagster_instance_config
    from dagster_aws.ecs import EcsRunLauncher

    aws = {
        "AWS_ENDPOINT_URL_ECS": s3_endpoint,
        # moto accepts any credentials; these are not secrets of any real account
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    run_task = template["Resources"]["DagsterRunTask"]["Properties"]
    family = f"pulseops-test-{uuid.uuid4().hex[:6]}-dagster-run"
    with environment(**aws):
        ecs = boto3.client("ecs")
        registered = ecs.register_task_definition(
            family=family,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu=run_task["Cpu"],
            memory=run_task["Memory"],
            containerDefinitions=[
                {"name": c["Name"], "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/pulseops-dagster:t"}
                for c in run_task["ContainerDefinitions"]
            ],
        )["taskDefinition"]
        values = {
            "PULSEOPS_DB_HOST": "db",
            "PULSEOPS_DB_PORT": "5432",
            "PULSEOPS_DB_USER": "u",
            "PULSEOPS_DB_PASSWORD": uuid.uuid4().hex,
            "PULSEOPS_METADATA_DB": "dagster",
            "DAGSTER_RUN_TASK_DEFINITION": family,
        }
        with environment(**values):
            config = dagster_instance_config(str(INFRA / "dagster"))[0]["run_launcher"]["config"]
            launcher = EcsRunLauncher(inst_data=None, **config)
            assert launcher.task_definition == registered["taskDefinitionArn"]
            # a task definition without the container the config names is refused at start
            other = ecs.register_task_definition(
                family=family + "-other", containerDefinitions=[{"name": "app", "image": "x", "memory": 512}]
            )["taskDefinition"]
            with environment(DAGSTER_RUN_TASK_DEFINITION=other["taskDefinitionArn"]):
                with pytest.raises(Exception, match="container"):
                    EcsRunLauncher(
                        inst_data=None, **dagster_instance_config(str(INFRA / "dagster"))[0]["run_launcher"]["config"]
                    )
        assert [arn for arn in ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"]] == [
            registered["taskDefinitionArn"]
        ]
