"""Automatic capture on real things: this venv, real git repositories, real tool executables.

No test here times anything; the cost of a capture is measured outside the suite.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from lineal.model import canonical
from lineal.tracking import capture
from lineal.tracking.capture import (
    ENV_ALLOWLIST,
    code,
    context,
    environment,
    hardware,
    is_secret_name,
    scrub_argv,
)

GIT = shutil.which("git")
needs_git = pytest.mark.skipif(GIT is None, reason="git is not installed")
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="uses a /bin/sh script")
SECRET = "sekrit-value-123"


# -- environment ------------------------------------------------------------------------------
def test_environment_is_deterministic_and_encodable() -> None:
    first = environment()
    assert canonical.encode(first) == canonical.encode(environment())
    assert first["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert first["python"]["implementation"]
    assert first["os"]["system"]


def test_environment_is_the_same_in_another_process(tmp_path: Path) -> None:
    # Another process (other pid, cwd and start time) in the same venv is the same environment.
    script = (
        "import sys\nfrom lineal.model.canonical import encode\n"
        "from lineal.tracking.capture import environment\n"
        "sys.stdout.buffer.write(encode(environment()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, check=True
    )
    assert done.stdout == canonical.encode(environment())


def test_environment_lists_this_venvs_packages() -> None:
    packages = environment()["packages"]
    for name in ("pytest", "lineal", "cryptography"):
        assert packages[name] == importlib.metadata.version(name)
    assert list(packages) == sorted(packages)
    # PEP 503 names: lowercase, runs of "-", "_" and "." made one "-".
    assert all(name == name.lower() and "_" not in name and "." not in name for name in packages)
    assert "python-ulid" in packages


# -- containers (a fake root on disk, since this machine is whatever it is) --------------------
def test_a_podman_container_is_read_from_containerenv(tmp_path: Path) -> None:
    digest, image_id = "ab" * 32, "cd" * 32
    (tmp_path / "run").mkdir()
    (tmp_path / "run/.containerenv").write_text(
        f'engine="podman-4.9.3"\nname="trainer"\nid="{"ef" * 32}"\n'
        f'image="quay.io/org/train@sha256:{digest}"\nimageid="{image_id}"\nrootless=0\n'
    )
    assert capture._container(tmp_path, {}) == {
        "runtime": "podman",
        "image": f"quay.io/org/train@sha256:{digest}",
        "image_digest": f"sha256:{digest}",
        "image_id": image_id,
    }
    assert capture._container_id(tmp_path) == "ef" * 32


def test_a_docker_container_and_its_orchestrator(tmp_path: Path) -> None:
    (tmp_path / ".dockerenv").touch()
    (tmp_path / "proc/self").mkdir(parents=True)
    (tmp_path / "proc/self/cgroup").write_text(f"12:pids:/docker/{'0a' * 32}\n0::/\n")
    environ = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "CONTAINER_IMAGE": "trainer:1.2"}
    assert capture._container(tmp_path, environ) == {
        "runtime": "docker",
        "image": "trainer:1.2",
        "orchestrator": "kubernetes",
    }
    # The id is per container, so it belongs to the run's context, never to the environment.
    assert capture._container_id(tmp_path) == "0a" * 32


def test_a_container_id_from_mountinfo(tmp_path: Path) -> None:
    (tmp_path / "proc/self").mkdir(parents=True)
    (tmp_path / "proc/self/cgroup").write_text("0::/\n")
    (tmp_path / "proc/self/mountinfo").write_text(
        f"612 603 254:1 /var/lib/docker/containers/{'9f' * 32}/hostname /etc/hostname rw - ext4\n"
    )
    assert capture._container(tmp_path, {}) is None  # no marker: the runtime is not guessed
    assert capture._container_id(tmp_path) == "9f" * 32


def test_no_container_is_none(tmp_path: Path) -> None:
    assert capture._container(tmp_path, {}) is None
    assert capture._container_id(tmp_path) is None


# -- hardware ---------------------------------------------------------------------------------
def test_hardware_counts_cores_and_lists_gpus() -> None:
    found = hardware()
    assert found["cpu"]["cores"] == os.cpu_count()
    assert isinstance(found["gpus"], list)
    assert found["memory_bytes"] is None or found["memory_bytes"] > 0
    canonical.encode(found)


def _fake_tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, body: str) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    tool = bin_dir / name
    tool.write_text(f"#!/bin/sh\n{body}\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")


@posix_only
def test_gpus_come_from_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_tool(
        tmp_path,
        monkeypatch,
        "nvidia-smi",
        'echo "NVIDIA A100-SXM4-80GB, 81920, 535.104.05, GPU-1111"\n'
        'echo "Odd, Name, [N/A], 535.104.05, GPU-2222"',
    )
    assert hardware()["gpus"] == [
        {"name": "NVIDIA A100-SXM4-80GB", "memory_mib": 81920, "driver": "535.104.05",
         "uuid": "GPU-1111"},
        {"name": "Odd, Name", "memory_mib": None, "driver": "535.104.05", "uuid": "GPU-2222"},
    ]  # fmt: skip


@posix_only
@pytest.mark.parametrize(
    "body", ['echo "NVIDIA-SMI has failed" >&2; exit 9', 'echo "No devices were found"']
)
def test_a_failing_nvidia_smi_means_no_gpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str
) -> None:
    _fake_tool(tmp_path, monkeypatch, "nvidia-smi", body)
    assert hardware()["gpus"] == []


# -- code -------------------------------------------------------------------------------------
@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty repository on branch main, with git isolated from this machine's config."""
    (tmp_path / "gitconfig").write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.com")
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "--initial-branch=main")
    return path


def git(repo: Path, *args: str) -> str:
    assert GIT is not None
    done = subprocess.run(
        [GIT, "-C", str(repo), "-c", "commit.gpgsign=false", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def commit_all(repo: Path, message: str = "commit") -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def commit_all_empty(repo: Path) -> str:
    git(repo, "commit", "-q", "--allow-empty", "-m", "start")
    return git(repo, "rev-parse", "HEAD")


def state(where: Path) -> dict[str, object]:
    found = code(where)
    assert found is not None
    canonical.encode(found)
    return found


@needs_git
def test_a_clean_repository(repo: Path) -> None:
    (repo / "train.py").write_text("print('hi')\n")
    sha = commit_all(repo)
    assert state(repo) == {
        "commit": sha,
        "branch": "main",
        "remote": None,
        "dirty": False,
        "diff_digest": None,
        "root": str(repo.resolve()),
    }
    (repo / "src").mkdir()
    assert state(repo / "src") == state(repo) == state(repo / "train.py")


@needs_git
def test_a_changed_tracked_file_is_dirty_with_a_digest_of_the_change(repo: Path) -> None:
    (repo / "train.py").write_text("lr = 0.1\n")
    sha = commit_all(repo)
    (repo / "train.py").write_text("lr = 0.2\n")
    first = state(repo)
    assert first["dirty"] is True
    assert first["commit"] == sha
    assert str(first["diff_digest"]).startswith("sha256:")
    assert len(str(first["diff_digest"])) == len("sha256:") + 64
    (repo / "train.py").write_text("lr = 0.3\n")
    assert state(repo)["diff_digest"] != first["diff_digest"]
    (repo / "train.py").write_text("lr = 0.2\n")
    assert state(repo)["diff_digest"] == first["diff_digest"]  # same change, same digest
    git(repo, "add", "train.py")  # staged or not, the change against HEAD is the same
    assert state(repo)["diff_digest"] == first["diff_digest"]


@needs_git
def test_untracked_files_count_and_ignored_files_do_not(repo: Path) -> None:
    (repo / "train.py").write_text("lr = 0.1\n")
    (repo / ".gitignore").write_text("*.log\n")
    commit_all(repo)
    clean = state(repo)
    (repo / "debug.log").write_text("noise\n")
    assert state(repo) == clean
    (repo / "notes").mkdir()
    (repo / "notes" / "idea.txt").write_text("one\n")
    first = state(repo)
    assert first["dirty"] is True
    assert first["diff_digest"] is not None
    (repo / "notes" / "idea.txt").write_text("two\n")
    second = state(repo)
    assert second["diff_digest"] not in (None, first["diff_digest"])
    (repo / "train.py").write_text("lr = 0.2\n")
    assert state(repo)["diff_digest"] not in (first["diff_digest"], second["diff_digest"])


@needs_git
def test_the_remote_loses_its_credentials(repo: Path) -> None:
    commit_all_empty(repo)
    git(repo, "remote", "add", "origin", f"https://alice:{SECRET}@example.com/team/x.git")
    found = state(repo)
    assert found["remote"] == "https://example.com/team/x.git"
    assert SECRET.encode() not in canonical.encode(found)
    # The branch's upstream remote wins over origin.
    git(repo, "remote", "add", "upstream", "git@example.org:team/y.git")
    git(repo, "config", "branch.main.remote", "upstream")
    assert state(repo)["remote"] == "git@example.org:team/y.git"


@needs_git
def test_a_detached_head_has_no_branch(repo: Path) -> None:
    sha = commit_all_empty(repo)
    git(repo, "checkout", "-q", "--detach", "HEAD")
    found = state(repo)
    assert found["branch"] is None
    assert found["commit"] == sha


@needs_git
def test_a_repository_without_commits(repo: Path) -> None:
    found = state(repo)
    assert found["commit"] is None
    assert found["branch"] == "main"
    assert found["dirty"] is False
    assert found["diff_digest"] is None
    (repo / "train.py").write_text("lr = 0.1\n")
    untracked = state(repo)
    assert untracked["dirty"] is True
    assert untracked["diff_digest"] is not None
    git(repo, "add", "train.py")
    staged = state(repo)
    assert staged["commit"] is None
    assert staged["diff_digest"] not in (None, untracked["diff_digest"])


@needs_git
def test_outside_a_repository_is_none(tmp_path: Path, repo: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert code(outside) is None
    assert code(tmp_path / "does-not-exist") is None
    assert code(repo / ".git") is None  # inside the git directory is not a work tree


@needs_git
def test_without_git_installed_is_none(
    tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools-here"))
    assert code(repo) is None


# -- context ----------------------------------------------------------------------------------
def test_context_describes_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    found = context()
    assert found["pid"] == os.getpid()
    assert found["host"] == socket.gethostname()
    assert found["cwd"] == str(Path.cwd())
    assert found["executable"] == sys.executable
    assert found["argv"] == scrub_argv(sys.argv)
    assert found["env"]["OMP_NUM_THREADS"] == "3"
    assert set(found["env"]) <= ENV_ALLOWLIST
    canonical.encode(found)


def test_secret_variables_never_appear_even_when_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "MY_API_TOKEN": SECRET,
        "MY_DB_PASS": SECRET,
        "MY_SETTING": "fine",
        "GITHUB_TOKEN": SECRET,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_ACCESS_KEY_ID": SECRET,
        "CUDA_VISIBLE_DEVICES": "0,1",
        "HOME": "/home/alice",
        "OTHER": "not allowed",
    }
    argv = ["train.py", "--token", SECRET, f"--password={SECRET}", f"db.api_key={SECRET}"]
    found = context(argv, env, allow=["MY_*", "GITHUB_TOKEN", "AWS_*"])
    assert found["env"] == {"CUDA_VISIBLE_DEVICES": "0,1", "MY_SETTING": "fine"}
    assert SECRET.encode() not in canonical.encode(found)
    # The same from the real process environment.
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    found = context(argv, allow=["MY_*", "GITHUB_TOKEN", "AWS_*"])
    assert found["env"]["MY_SETTING"] == "fine"
    assert "HOME" not in found["env"]
    assert SECRET.encode() not in canonical.encode(found)


def test_allowed_values_lose_url_credentials() -> None:
    env = {"MYAPP_DB_URL": f"postgresql://trainer:{SECRET}@db.internal:5432/runs", "TZ": "UTC"}
    found = context([], env, allow=["MYAPP_*"])
    assert found["env"] == {
        "MYAPP_DB_URL": "postgresql://trainer:***@db.internal:5432/runs",
        "TZ": "UTC",
    }


def test_every_allowed_value_is_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    # env_allow=["*"] lets in every name that does not look secret; the values are masked too.
    env = {
        "LIBPQ_DSN": f"host=db.internal user=trainer password={SECRET} dbname=runs",
        "MYAPP_HEADERS": f"Authorization: Bearer {SECRET}",
        "MYAPP_MIRROR": f"https://mirror.example/x?sig={SECRET}",
        "HF_TOKEN": "hf_" + SECRET,
        "MYAPP_ECHO": f"uses hf_{SECRET} inside",
        "MYAPP_DATA": "/data/keys/train?split=1",
    }
    found = context([], env, allow=["*"])
    assert SECRET.encode() not in canonical.encode(found)
    assert found["env"] == {
        "LIBPQ_DSN": "host=db.internal user=trainer password=*** dbname=runs",
        "MYAPP_HEADERS": "Authorization: Bearer ***",
        "MYAPP_MIRROR": "https://mirror.example/x?sig=***",
        "MYAPP_ECHO": "uses *** inside",
        "MYAPP_DATA": "/data/keys/train?split=1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert SECRET.encode() not in canonical.encode(context([], allow=["*"]))


def test_allow_takes_exact_names_and_patterns_and_a_bare_string() -> None:
    env = {"MYAPP_SEED": "1", "MYAPPX": "2", "MYAPP": "3", "UNRELATED": "4"}
    assert context([], env, allow=["MYAPP_*", "MYAPP"])["env"] == {"MYAPP": "3", "MYAPP_SEED": "1"}
    # A single string is one pattern, not the characters "M", "Y", ..., "*".
    assert context([], env, allow="MYAPP_*")["env"] == {"MYAPP_SEED": "1"}


def test_odd_text_is_made_storable() -> None:
    found = context(["train.py", "caf\udce9", "a\x00b"], {"LANG": "C\x00"})
    canonical.encode(found)
    assert found["argv"][1] == "caf\\udce9"
    assert "\x00" not in found["argv"][2]
    assert "\x00" not in found["env"]["LANG"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--password", "hunter2"], ["--password", "***"]),
        (["--api-key=abc"], ["--api-key=***"]),
        (["--token", "abc", "--lr", "0.1"], ["--token", "***", "--lr", "0.1"]),
        (["--db-pass", "x", "--dbPassword=y"], ["--db-pass", "***", "--dbPassword=***"]),
        (["-password", "x"], ["-password", "***"]),
        (["--token", "--verbose"], ["--token", "--verbose"]),  # a flag, not the token
        (["--secret"], ["--secret"]),
        (
            ["-p", "8080", "--port", "8080", "--lr=0.1"],
            ["-p", "8080", "--port", "8080", "--lr=0.1"],
        ),
        (["DB_PASSWORD=x", "lr=0.1"], ["DB_PASSWORD=***", "lr=0.1"]),
        (["+model.api_key=x", "trainer.epochs=3"], ["+model.api_key=***", "trainer.epochs=3"]),
        (["-e", "AWS_SECRET_ACCESS_KEY=x"], ["-e", "AWS_SECRET_ACCESS_KEY=***"]),
        (["--env=HF_TOKEN=x"], ["--env=HF_TOKEN=***"]),
        (["https://user:pw@host/data.csv"], ["https://user:***@host/data.csv"]),
        (["--data=s3://AKIA:s3cr%40t@bucket/x"], ["--data=s3://AKIA:***@bucket/x"]),
        (["--url", "https://x:p@ss@h:8080/p"], ["--url", "https://x:***@h:8080/p"]),
        (["https://h/f?X-Amz-Signature=abc&part=1"], ["https://h/f?X-Amz-Signature=***&part=1"]),
        (["https://host/a@b"], ["https://host/a@b"]),  # an "@" in the path is not userinfo
        (["curl", "-H", "Authorization: Bearer x"], ["curl", "-H", "Authorization: Bearer ***"]),
        (["--header=Authorization: Basic x"], ["--header=Authorization: Basic ***"]),
        (["psql", "host=h password=x"], ["psql", "host=h password=***"]),
        (
            ["--num-keypoints", "17", "--max-new-tokens", "64"],
            ["--num-keypoints", "17", "--max-new-tokens", "64"],
        ),  # hyperparameters, not secrets
        (["git@github.com:org/repo.git", "-5", "--"], ["git@github.com:org/repo.git", "-5", "--"]),
        ([], []),
    ],
)
def test_scrub_argv(argv: list[str], expected: list[str]) -> None:
    assert scrub_argv(argv) == expected


@pytest.mark.parametrize(
    "name",
    [
        "GITHUB_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "api-key", "apiKey",
        "DB_PASS", "dbPass", "db_password", "PGPASSWORD", "MYSQL_PWD", "PASSPHRASE", "pw",
        "HTTP_AUTHORIZATION", "PRIVATE_KEY_PATH", "SESSION_ID", "COOKIE_JAR", "X-Amz-Signature",
        "X-Amz-Credential", "client_credentials", "sig", "GOOGLE_APPLICATION_CREDENTIALS",
        # Deliberate false positives: dropping a harmless value is the cheap mistake.
        "KEYBOARD_LAYOUT", "GIT_AUTHOR_NAME", "BYPASS_CACHE", "PWD",
    ],
)  # fmt: skip
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "PATH", "HOME", "LANG", "HOSTNAME", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS",
        "PYTHONHASHSEED", "SLURM_JOB_ID", "GITHUB_SHA", "lr", "batch-size", "PASTA", "SIGMA",
        "url", "data",
    ],
)  # fmt: skip
def test_harmless_names(name: str) -> None:
    assert not is_secret_name(name)


def test_the_allowlist_holds_no_secret_name() -> None:
    assert not [name for name in ENV_ALLOWLIST if is_secret_name(name)]
