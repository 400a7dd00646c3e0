# mypy: disable-error-code="no-any-return"
"""Who may do what, asked of a `lineal server` project over HTTP: its API tokens (the
server's token routes) and its audit log (read only: the server writes it). A part of
lineal.store.http.HttpStore, kept apart by concept."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lineal.errors import PermissionDenied
from lineal.model.tokens import NewToken, TokenInfo, check_token_id

if TYPE_CHECKING:
    from lineal.model.audit import AuditEvent, AuditHead, AuditReport, AuditRow


class HttpAccess:
    """The token and audit methods of the Store protocol, over HttpStore's requests."""

    uri: str
    project: str

    if TYPE_CHECKING:  # HttpStore's requests

        def _call(self, method: str, **args: Any) -> Any: ...

        def _post(
            self, path: str, *, method: str = "POST", token: str | None = None, **kwargs: Any
        ) -> Any: ...

    # -- API tokens (the server's token routes) -------------------------------------------
    def issue_token(
        self, agent: str, role: str, expires: str | None = None, *, by: str | None = None
    ) -> NewToken:
        # ``by`` is the server's to say: the agent of the admin token this request carries.
        body = {"agent": agent, "role": role, "expires": expires}
        answer = self._post("/tokens", json=body)
        return NewToken(token=answer.pop("token"), info=TokenInfo(**answer))

    def tokens(self) -> list[TokenInfo]:
        listed = self._post("/tokens", method="GET")
        return [TokenInfo(**{k: v for k, v in one.items() if k != "state"}) for one in listed]

    def revoke_token(self, token_id: str) -> TokenInfo:
        check_token_id(token_id)
        return TokenInfo(**self._post(f"/tokens/{token_id}", method="DELETE"))

    def has_tokens(self) -> bool:
        return not self._post("/whoami", method="GET")["open"]

    def authenticate(self, token: str) -> TokenInfo:
        answer = self._post("/whoami", method="GET", token=token)
        if answer["open"] or answer["token"] is None:  # an open project asks for none
            raise PermissionDenied(
                f"project {self.project} is open: it has no tokens yet",
                hint="on the server: lineal token create --uri SERVER_URI --project "
                f"{self.project} --agent NAME --role admin",
            )
        return TokenInfo(**answer["token"])

    # -- the audit log ------------------------------------------------------------------
    def append_audit(self, events: Sequence[AuditEvent]) -> list[AuditRow]:
        raise PermissionDenied(
            f"a client does not write the audit log of {self.uri}",
            hint="the server records every request it answers in its project's audit log",
        )

    def audit_rows(
        self,
        *,
        agent: str | None = None,
        ref: str | None = None,
        since: str | None = None,
        until: str | None = None,
        after: int = 0,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[AuditRow]:
        return self._call(
            "audit_rows",
            agent=agent,
            ref=ref,
            since=since,
            until=until,
            after=after,
            limit=limit,
            newest_first=newest_first,
        )

    def audit_heads(self, *, after: int = 0, limit: int | None = None) -> list[AuditHead]:
        return self._call("audit_heads", after=after, limit=limit)

    def verify_audit(self) -> AuditReport:
        return self._call("verify_audit")
