"""The masking rules on their own: what is hidden, and what must stay as it was written."""

from __future__ import annotations

import pytest

from lineal.model.masking import (
    anonymize_url,
    is_secret_file,
    is_secret_name,
    mask_argv,
    mask_output,
    mask_params,
    mask_text,
    mask_url,
    secret_values,
    split_password,
)

SECRET = "sekrit-Value-123"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["curl", "-H", f"Authorization: Bearer {SECRET}"],
         ["curl", "-H", "Authorization: Bearer ***"]),
        ([f"--header=Authorization: Basic {SECRET}"], ["--header=Authorization: Basic ***"]),
        ([f"-HProxy-Authorization: {SECRET}"], ["-HProxy-Authorization: ***"]),
        (["-H", f"X-Api-Key: {SECRET}", "-H", f"PRIVATE-TOKEN:{SECRET}"],
         ["-H", "X-Api-Key: ***", "-H", "PRIVATE-TOKEN:***"]),
        (["-H", f"Cookie: session={SECRET}; theme=dark"], ["-H", "Cookie: ***"]),
        ([f"host=db user=alice password={SECRET} dbname=runs"],
         ["host=db user=alice password=*** dbname=runs"]),
        ([f"host=db password='{SECRET} x' port=5432"], ["host=db password='***' port=5432"]),
        ([f"postgresql://alice:{SECRET}@db:5432/runs"], ["postgresql://alice:***@db:5432/runs"]),
        ([f"https://{SECRET}@github.com/o/r.git"], ["https://***@github.com/o/r.git"]),
        ([f"https://oauth2:{SECRET}@gitlab.com/o/r.git"], ["https://oauth2:***@gitlab.com/o/r.git"]),
        ([f"s3://AKIA:{SECRET}@bucket/x"], ["s3://AKIA:***@bucket/x"]),
        ([f"https://acct.blob.core.windows.net/c?sv=2022&sig={SECRET}&se=2030"],
         ["https://acct.blob.core.windows.net/c?sv=2022&sig=***&se=2030"]),
        ([f"https://h/x?access_token={SECRET}&page=2"], ["https://h/x?access_token=***&page=2"]),
        (["bash", "-c", f"curl -H 'Authorization: Bearer {SECRET}' --password {SECRET}x h"],
         ["bash", "-c", "curl -H 'Authorization: Bearer ***' --password *** h"]),
        (["env", f"AWS_SECRET_ACCESS_KEY={SECRET}", "python", "t.py"],
         ["env", "AWS_SECRET_ACCESS_KEY=***", "python", "t.py"]),
        ([f"LIBPQ_DSN=host=h password={SECRET}"], ["LIBPQ_DSN=host=h password=***"]),
        (["--password-file", "pw.txt", "--api-key=abc"],
         ["--password-file", "***", "--api-key=***"]),
    ],
)  # fmt: skip
def test_secrets_in_a_command_line_are_hidden(argv: list[str], expected: list[str]) -> None:
    found: list[str] = []
    assert mask_argv(argv, found) == expected
    assert found  # what was hidden is known, to hide it in the output too
    assert all(SECRET not in arg for arg in mask_argv(argv))


@pytest.mark.parametrize(
    "argv",
    [
        ["python", "train.py", "--lr", "0.1", "--epochs=3", "-p", "8080", "--port", "8080"],
        ["python", "fit.py", "--num-keypoints", "17", "--max-new-tokens", "512",
         "--tokenizer", "tok.json", "--keyframe-interval", "5", "--keywords=a,b"],
        ["python", "t.py", "data/keys/train.txt", "/mnt/secrets-free/x", "lr=0.1", "-5", "--"],
        ["curl", "https://example.org/search?q=x&keyword=y&page=2", "-H", "Accept: text/csv"],
        ["git", "clone", "ssh://git@github.com/o/r.git", "git@github.com:o/r.git"],
        ["psql", "postgresql://alice@db:5432/runs", "host=db user=alice dbname=runs"],
        ["echo", "12:30:45", "C:\\keys\\x", "s3://bucket/key:abc", "https://host/a@b"],
        ["python", "-c", "if token == other: pass"],
        ["docker", "run", "-u", "1000:1000", "-e", "CUDA_VISIBLE_DEVICES=0", "img:1.2"],
        ["python", "-u", "train.py", "--output", "out/model.pt", "--seed", "7"],
    ],
)  # fmt: skip
def test_ordinary_arguments_stay(argv: list[str]) -> None:
    found: list[str] = []
    assert mask_argv(argv, found) == argv
    assert found == []


def test_text_hides_known_values_headers_and_pairs() -> None:
    text = (
        f"['t.py', '--password', '{SECRET}']\n"
        f"> Authorization: Bearer {SECRET}2\n"
        f"config: {{'api_key': '{SECRET}3', 'lr': 0.1}}\n"
        f"db_password: {SECRET}4\n"
        "max_tokens: 512\n"
        f"export GITHUB_TOKEN={SECRET}5\n"
    )
    masked = mask_text(text, known=[SECRET])
    assert SECRET not in masked
    assert masked.splitlines() == [
        "['t.py', '--password', '***']",
        "> Authorization: Bearer ***",
        "config: {'api_key': '***', 'lr': 0.1}",
        "db_password: ***",
        "max_tokens: 512",
        "export GITHUB_TOKEN=***",
    ]


def test_short_numeric_and_boolean_known_values_are_not_hunted_in_text() -> None:
    text = "step 1000 of 2000: loss 0.5, retry true"
    assert mask_text(text, known=["1", "of", "0.5", "1000", "2e3", "true"]) == text


def test_output_bytes_that_are_not_text_stay() -> None:
    data = b"\xff\xfe binary \x00 then password=" + SECRET.encode() + b"\n\x80"
    assert mask_output(data) == b"\xff\xfe binary \x00 then password=***\n\x80"
    assert mask_output(b"\xff plain \x00") == b"\xff plain \x00"


def test_urls() -> None:
    assert mask_url(f"postgresql://u:{SECRET}@h/db?sslmode=require") == (
        "postgresql://u:***@h/db?sslmode=require"
    )
    assert mask_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert mask_url(f"https://h/f?X-Amz-Credential={SECRET}&X-Amz-Signature={SECRET}") == (
        "https://h/f?X-Amz-Credential=***&X-Amz-Signature=***"
    )
    assert anonymize_url(f"https://alice:{SECRET}@example.com/x.git") == (
        "https://example.com/x.git"
    )


def test_params() -> None:
    params = {
        "lr": 0.1,
        "api_key": SECRET,
        "token_limit": 512,  # a number under a secret-looking name is a hyperparameter
        "use_auth": True,
        "db": {"url": f"postgresql://u:{SECRET}@h/d", "password": SECRET, "name": "runs"},
        "tokens": ["a", "b"],
        "secrets": [SECRET, SECRET],
    }
    assert mask_params(params) == {
        "lr": 0.1,
        "api_key": "***",
        "token_limit": 512,
        "use_auth": True,
        "db": {"url": "postgresql://u:***@h/d", "password": "***", "name": "runs"},
        "tokens": ["a", "b"],
        "secrets": ["***", "***"],
    }


def test_secret_values_of_an_environment() -> None:
    env = {
        "GITHUB_TOKEN": SECRET,
        "PGPASSWORD": "short",  # under 8 characters: not hunted in text
        "SSH_AUTH_SOCK": "/run/user/1000/ssh-agent.sock",  # a path
        "PWD": "/work/project",
        "HOME": "/root",
        "LANG": "C.UTF-8",
    }
    assert secret_values(env) == [SECRET]


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("postgresql://alice:p%40ss@db:5432/runs", ("postgresql://alice@db:5432/runs", "p@ss")),
        ("postgresql://alice@db/runs?password=pw&sslmode=require",
         ("postgresql://alice@db/runs?sslmode=require", "pw")),
        ("postgresql://alice@db/runs?options=-c%20a+b",
         ("postgresql://alice@db/runs?options=-c%20a+b", None)),
        ("postgresql://:pw@db/runs", ("postgresql://db/runs", "pw")),
        ("sqlite:////tmp/x/lineal.db", ("sqlite:////tmp/x/lineal.db", None)),
    ],
)  # fmt: skip
def test_split_password(uri: str, expected: tuple[str, str | None]) -> None:
    assert split_password(uri) == expected


@pytest.mark.parametrize(
    "name",
    [".env", ".env.local", "prod.env", "server.pem", "tls.key", "id_rsa", "id_ed25519",
     ".netrc", ".pgpass", "credentials", "client_secret_123.json", "api_key.txt",
     "db-password.txt", "HF_TOKEN", "clientSecret.json", "ID_RSA", "private_key.json",
     "dir/sub/.git-credentials"],
)  # fmt: skip
def test_secret_files(name: str) -> None:
    assert is_secret_file(name)


@pytest.mark.parametrize(
    "name",
    ["train.py", "tokenizer.json", "tokens.txt", "keypoints.json", "monkey_patch.py",
     "id_rsa.pub", "environment.yml", "config.yaml", "pw.txt", "author.py"],
)  # fmt: skip
def test_ordinary_files(name: str) -> None:
    assert not is_secret_file(name)


@pytest.mark.parametrize(
    "name", ["max_new_tokens", "num_keypoints", "tokenizer", "TOKENIZERS_PARALLELISM",
             "keyframe_interval", "keywords", "lr", "url"],
)  # fmt: skip
def test_ordinary_words_of_the_field_are_not_secret(name: str) -> None:
    assert not is_secret_name(name)
