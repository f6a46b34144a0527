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


def containers(template: dict) -> list[dict]:
    return [c for task in of_type(template, "AWS::ECS::TaskDefinition").values()
            for c in task["Properties"]["ContainerDefinitions"]]


def test_cfn_lint_reports_nothing():
    matches = lint_file(TEMPLATE, config=ManualArgs(regions=["us-east-1", "eu-west-1"]))
    assert [str(m) for m in matches] == []


def test_no_role_has_a_wildcard_action_and_the_trigger_role_is_minimal(template):
    roles = of_type(template, "AWS::IAM::Role")
    for name, role in roles.items():
        assert "ManagedPolicyArns" not in role["Properties"], f"{name}: every permission should be readable here"
        for statement in statements(role):
            assert not [a for a in as_list(statement["Action"]) if "*" in a], f"{name}: {statement}"

    trigger = template["Resources"]["TriggerFunction"]["Properties"]
    assert trigger["Role"] == {"Fn::GetAtt": ["TriggerRole", "Arn"]}
    actions = {a for s in statements(roles["TriggerRole"]) for a in as_list(s["Action"])}
    assert {a.split(":")[0] for a in actions} == {"logs", "sqs", "kms", "ec2"}
    assert not {a for a in actions if a.startswith("sqs:") and a != "sqs:GetQueueAttributes"} - {
        "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"}
    for statement in statements(roles["TriggerRole"]):
        if statement["Resource"] == "*":  # only the VPC interface actions lack resource-level permissions
            assert all(a.startswith("ec2:") and "NetworkInterface" in a or a.endswith("PrivateIpAddresses")
                       for a in as_list(statement["Action"])), statement


def test_the_bucket_is_private_versioned_encrypted_and_zoned(template):
    bucket = template["Resources"]["DataBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert "AccessControl" not in bucket
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
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


def test_every_secret_comes_from_secrets_manager(template):
    for name, parameter in template["Parameters"].items():
        assert not (parameter.get("NoEcho") and "Default" in parameter), name
        assert not re.search(r"password|secret(?!arn)|token", name, re.I), f"{name}: pass secrets by reference"
    for name, database in of_type(template, "AWS::RDS::DBInstance").items():
        assert database["Properties"]["ManageMasterUserPassword"] is True, name
        assert "MasterUserPassword" not in database["Properties"], name
    for secret in of_type(template, "AWS::SecretsManager::Secret").values():
        assert "SecretString" not in secret["Properties"] and "GenerateSecretString" in secret["Properties"]

    secret_like = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$|AUTH")
    for container in containers(template):
        assert not [e["Name"] for e in container.get("Environment", []) if secret_like.search(e["Name"])]
        for secret in container.get("Secrets", []):
            reference = " ".join(strings(secret["ValueFrom"]))
            assert "MasterUserSecret.SecretArn" in reference or secret["ValueFrom"].get("Ref") in of_type(
                template, "AWS::SecretsManager::Secret"), secret
    lambda_env = template["Resources"]["TriggerFunction"]["Properties"]["Environment"]["Variables"]
    for name, value in lambda_env.items():
        if secret_like.search(name):
            assert "{{resolve:secretsmanager:" in " ".join(strings(value)), name

    shipped = (INFRA / "dagster" / "dagster.yaml").read_text()
    assert yaml.safe_load(shipped)["storage"]["postgres"]["postgres_db"]["password"] == {
        "env": "PULSEOPS_DB_PASSWORD"}


def test_every_log_group_has_a_retention_and_every_log_has_a_group(template):
    groups = of_type(template, "AWS::Logs::LogGroup")
    for name, group in groups.items():
        assert group["Properties"]["RetentionInDays"], name
    # Anything writing to a group the template does not own would create one with no retention.
    trigger = template["Resources"]["TriggerFunction"]["Properties"]
    assert trigger["LoggingConfig"]["LogGroup"]["Ref"] in groups
    for container in containers(template):
        assert container["LogConfiguration"]["Options"]["awslogs-group"]["Ref"] in groups, container["Name"]


def test_alarms_watch_the_trigger_the_dead_letter_queue_and_failed_runs(template, capfd):
    alarms = of_type(template, "AWS::CloudWatch::Alarm").values()
    watched = {(a["Properties"]["Namespace"], a["Properties"]["MetricName"]
                if isinstance(a["Properties"]["MetricName"], str) else "filter") for a in alarms}
    assert {("AWS/Lambda", "Errors"), ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
            ("PulseOps", "filter")} <= watched

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


def test_the_environment_parameter_picks_dev_or_prod(template):
    environments = template["Parameters"]["Environment"]["AllowedValues"]
    mapping = template["Mappings"]["EnvironmentConfig"]
    assert sorted(environments) == sorted(mapping) == ["dev", "prod"]
    assert mapping["dev"].keys() == mapping["prod"].keys()
    text = TEMPLATE.read_text()
    for setting in mapping["dev"]:
        assert f"!Ref Environment, {setting}]" in text, f"{setting} is never used"
    assert template["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Environment"}, "prod"]}


def test_the_dagster_instance_for_ecs_is_valid():
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config
    from dagster._core.workspace.config_schema import ensure_workspace_config
    from dagster_aws.ecs import EcsRunLauncher

    values = {"PULSEOPS_DB_HOST": "db", "PULSEOPS_DB_PORT": "5432", "PULSEOPS_DB_USER": "u",
              "PULSEOPS_DB_PASSWORD": uuid.uuid4().hex, "PULSEOPS_METADATA_DB": "dagster",
              "DAGSTER_RUN_TASK_ROLE_ARN": "arn:aws:iam::123456789012:role/run", "DAGSTER_CODE_SERVER_HOST": "code"}
    with environment(**values):
        config, _ = dagster_instance_config(str(INFRA / "dagster"))
        launcher = config["run_launcher"]
        assert (launcher["module"], launcher["class"]) == ("dagster_aws.ecs", "EcsRunLauncher")
        checked = process_config(EcsRunLauncher.config_type(), launcher["config"])
        assert checked.success, checked.errors
        workspace_path = INFRA / "dagster" / "workspace.yaml"
        ensure_workspace_config(yaml.safe_load(workspace_path.read_text()), str(workspace_path))
    assert config["storage"]["postgres"]["postgres_db"]["scheme"] == "postgresql+psycopg2"


def test_container_commands_use_files_that_exist(template):
    images = {"DagsterImage": "dagster", "SupersetImage": "superset"}
    for container in containers(template):
        root = IMAGE_ROOTS[images[container["Image"]["Ref"]]]
        for word in container.get("Command", []):
            if word.startswith(root):
                assert (REPO / word[len(root):]).exists(), word
    assert (INFRA / template["Resources"]["TriggerFunction"]["Properties"]["CodeUri"]).exists()
    handler_module, handler = template["Resources"]["TriggerFunction"]["Properties"]["Handler"].split(".")
    assert f"def {handler}(" in (INFRA / f"{handler_module}.py").read_text()


@pytest.mark.parametrize(("image", "locks"), [("dagster", ["requirements.lock"]),
                                              ("superset", ["superset_config/requirements.lock"])])
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
    assert entrypoint.startswith(IMAGE_ROOTS[image]) and (REPO / entrypoint[len(IMAGE_ROOTS[image]):]).exists()
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
    env = {"PULSEOPS_DB_HOST": admin.hostname, "PULSEOPS_DB_PORT": str(admin.port or 5432),
           "PULSEOPS_DB_USER": admin.username, "PULSEOPS_DB_PASSWORD": password, "PULSEOPS_DB_SSLMODE": "prefer",
           "PULSEOPS_DB_NAME": "pulseops", "PULSEOPS_METADATA_DB": f"pulseops_meta_{uuid.uuid4().hex[:8]}"}

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


def test_superset_connects_as_the_analyst_login_without_master_credentials():
    entrypoint = _entrypoint()
    analyst, metadata = uuid.uuid4().hex + "@:/", uuid.uuid4().hex
    superset_env = {"PULSEOPS_DB_HOST": "db.internal", "PULSEOPS_DB_PORT": "5432", "PULSEOPS_DB_NAME": "pulseops",
                    "PULSEOPS_ANALYST_PASSWORD": analyst, "PULSEOPS_SUPERSET_DB_PASSWORD": metadata}

    derived = entrypoint.derived_environment(superset_env)

    assert "DATABASE_URL" not in derived
    assert derived["PULSEOPS_WAREHOUSE_URI"] == derived["PULSEOPS_ANALYST_URI"]
    for name, login, database, secret in [("PULSEOPS_ANALYST_URI", "pulseops_analyst", "/pulseops", analyst),
                                          ("SUPERSET_METADATA_URL", "pulseops_superset", "/superset", metadata)]:
        url = urlsplit(derived[name])
        assert (url.scheme, url.username, unquote(url.password), url.hostname, url.port, url.path, url.query) == (
            "postgresql+psycopg2", login, secret, "db.internal", 5432, database, "sslmode=require"), name
