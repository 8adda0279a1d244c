"""Where a challenge of the owner's token is judged, as the defender sees it: the Registry (both
tokens single), the BatchCourt (a batch item against a single token) and the BatchRegistry (a
challenge of a batch item). Each forum reads its disputes, finds the two detail descriptors,
contests (the BatchRegistry's contest opens the owner's item) and decides a contested dispute:
``resolve`` at the Registry, where nothing else ends it; ``finalize`` once the resolve window has
passed at the two batch contracts, where a contested challenge the challenger does not resolve is
rejected (so the defender never pays the detail rule's gas there).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger import merkle
from ledger.clients.batch_court import BatchCourtClient
from ledger.clients.batch_registry import BatchRegistryClient, ItemOpening
from ledger.clients.registry import RegistryClient
from ledger.errors import LedgerError
from services.provenance.accusations import COURT, accused_of

# `aigc bench gas` (docs/contracts.md): `registry_contest` and `registry_resolve` (the detail
# rule run to a verdict, through the CommitteeVerifier); what a defence costs the defender,
# before the deposits it wins (and a review fee, with a committee).
CONTEST_GAS = 54_938
RESOLVE_GAS = 2_163_850
# `aigc bench gas` (tests/contracts/gas_batch_snapshot.json): `court_finalize` and
# `batch_finalize`, an upheld challenge (its win held until `settle`); a contested one nobody
# resolved, the defender's case, costs less.
COURT_FINALIZE_GAS = 90_749
BATCH_FINALIZE_GAS = 57_990
ItemOpener = Callable[[int], "tuple[bytes, ItemOpening] | None"]  # a batch item's own opening


class RegistryForum:
    """A challenge at the Registry: both descriptors are in ``Registered`` events, and the
    contester runs ``resolve`` itself (the detail rule on chain: both deposits to it)."""

    gas = CONTEST_GAS + RESOLVE_GAS

    def __init__(self, registry: RegistryClient):
        self.registry = registry

    def dispute(self, original: int, duplicate: int) -> Any:
        return self.registry.dispute(original, duplicate)

    def accused(self, duplicate: int) -> str:
        return accused_of(self.registry, duplicate)

    def original_detail(self, original: int) -> bytes | None:
        return self.registry.registered(original).detail

    def duplicate_detail(self, duplicate: int) -> bytes | None:
        return self.registry.registered(duplicate).detail

    def openings(self, original: int, duplicate: int) -> tuple[ItemOpening | None, ...]:
        """What proves each side's detail hash to the committee: both are single tokens, whose
        record proofs its client reads from their ``Registered`` events (None)."""
        return None, None

    def contest(self, original: int, duplicate: int) -> None:
        self.registry.contest(original, duplicate)

    def finish(self, original: int, duplicate: int, dispute: Any, head: int) -> bool:
        self.registry.resolve(original, duplicate)
        return True


class CourtForum:
    """A batch item's challenge of a single token at the BatchCourt: only the challenger can
    open its item in ``resolve``, and a contested challenge it leaves unresolved for the window
    is rejected by ``finalize`` (both deposits to the contester), which the defender then calls.
    The item's descriptor comes from its published manifest (``item_details``), else unknown."""

    gas = CONTEST_GAS + COURT_FINALIZE_GAS

    def __init__(
        self,
        registry: RegistryClient,
        court: BatchCourtClient,
        item_details: Callable[[int], bytes | None] | None,
    ):
        self.registry = registry
        self.court = court
        self.item_details = item_details

    def dispute(self, original: int, duplicate: int) -> Any:
        return self.court.dispute(original, duplicate)

    def accused(self, duplicate: int) -> str:
        return accused_of(self.registry, duplicate, forum=COURT)

    def original_detail(self, original: int) -> bytes | None:
        return None if self.item_details is None else self.item_details(original)

    def duplicate_detail(self, duplicate: int) -> bytes | None:
        return self.registry.registered(duplicate).detail

    def openings(self, original: int, duplicate: int) -> tuple[ItemOpening | None, ...]:
        """The batched original's opening from its published manifest; the copy's record proof
        is read from the chain (None)."""
        return self._item_opening(original), None

    def _item_opening(self, token_id: int) -> ItemOpening | None:
        opener = getattr(self.item_details, "opening", None)  # ApiItemDetails, ManifestItems
        found = None if opener is None else opener(token_id)
        return None if found is None else found[1]

    def contest(self, original: int, duplicate: int) -> None:
        self.court.contest(original, duplicate)

    def finish(self, original: int, duplicate: int, dispute: Any, head: int) -> bool:
        if head < dispute.deadline:  # `finalize` needs a block past it
            return False
        self.court.finalize(original, duplicate, self.registry.registered(duplicate).proof)
        return True


class BatchForum(CourtForum):
    """A challenge of the owner's own batch item at the BatchRegistry (by an earlier item, or by
    a single token through ``challengeWithSingle``). The contest opens the item (its detail and
    proof from the owner's manifest: ``own_items``); as at the court, a contested challenge left
    unresolved for the window is rejected by ``finalize``, so the defender never pays a resolve."""

    gas = CONTEST_GAS + BATCH_FINALIZE_GAS  # the contest's opening adds a little

    def __init__(
        self,
        registry: RegistryClient,
        batches: BatchRegistryClient,
        item_details: Callable[[int], bytes | None] | None,
        own_items: ItemOpener | None,
    ):
        self.registry = registry
        self.batches = batches
        self.item_details = item_details
        self.own_items = own_items

    def dispute(self, original: int, duplicate: int) -> Any:
        return self.batches.dispute(original, duplicate)

    def accused(self, duplicate: int) -> str:
        return accused_of(self.registry, duplicate, batched=True)

    def original_detail(self, original: int) -> bytes | None:
        try:
            merkle.split_token_id(original)
        except ValueError:  # not a batch item's id: a single token (`challengeWithSingle`)
            return self.registry.registered(original).detail
        return super().original_detail(original)

    def duplicate_detail(self, duplicate: int) -> bytes | None:
        opened = None if self.own_items is None else self.own_items(duplicate)
        return None if opened is None else opened[0]

    def openings(self, original: int, duplicate: int) -> tuple[ItemOpening | None, ...]:
        """The original's (a batch item's from its published manifest; a single token's record
        proof, None, read from the chain) and the owner's own item's from its manifest."""
        try:
            merkle.split_token_id(original)
            a = self._item_opening(original)
        except ValueError:
            a = None
        opened = None if self.own_items is None else self.own_items(duplicate)
        return a, None if opened is None else opened[1]

    def contest(self, original: int, duplicate: int) -> None:
        opened = None if self.own_items is None else self.own_items(duplicate)
        if opened is None:
            raise LedgerError(f"no opening of item {duplicate} in the owner's manifest")
        detail, opening = opened
        self.batches.contest(original, duplicate, detail=detail, opening=opening)

    def finish(self, original: int, duplicate: int, dispute: Any, head: int) -> bool:
        if head < dispute.deadline:
            return False
        self.batches.finalize(original, duplicate)
        return True
