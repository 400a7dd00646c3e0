"""Where a fresh store's own records start: a lineal server registers its own agent
(``lineal-server``) first in each project it makes, so on a server's project the records the
test fixture writes follow the server's. Tests count seqs and verify's counts from here."""

from __future__ import annotations

from dataclasses import dataclass

from lineal.store.base import Store


@dataclass(frozen=True)
class Origin:
    """What a store held before its fixture's agent registered."""

    before: int  #: records ahead of the agent's registration
    commits: int  #: commits ahead of it
    agents: tuple[str, ...]  #: agents registered ahead of it

    @classmethod
    def of(cls, store: Store, agent: str) -> Origin:
        (mine,) = [r for r in store.records(op="agent.register") if r.author == agent]
        commits = sum(1 for c in store.commits() if c.last_seq < mine.seq)
        agents = tuple(a.name for a in store.agents() if a.name != agent)
        return cls(before=mine.seq - 1, commits=commits, agents=agents)

    def seq(self, n: int) -> int:
        """The seq of the store's ``n``-th own record (1: the agent's registration)."""
        return self.before + n

    def seqs(self, *ns: int) -> list[int]:
        return [self.seq(n) for n in ns]

    def commit_seqs(self, store: Store) -> list[int]:
        """``last_seq`` of each commit from the agent's registration on (the ones ahead of it
        are checked to be there still)."""
        every = [c.last_seq for c in store.commits()]
        assert len(every) >= self.commits
        assert all(s <= self.before for s in every[: self.commits])
        return every[self.commits :]
