"""Migrations from advice: numbered up/down SQL, online-DDL notes, lint, generated tests.

``propose(advice, directory, ...)`` (:mod:`dbtune.migrate.propose`) is the one call; the
saved advice file is :mod:`dbtune.migrate.advicefile`. See docs/propose.md.
"""

from dbtune.migrate.advicefile import load_advice, save_advice
from dbtune.migrate.online import Target
from dbtune.migrate.plan import Proposal, Step, build_proposal
from dbtune.migrate.propose import Refused, fixture_proposal, propose

__all__ = ["Proposal", "Refused", "Step", "Target", "build_proposal", "fixture_proposal",
           "load_advice", "propose", "save_advice"]
