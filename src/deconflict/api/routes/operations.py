"""/api/v1/operations: file, list, read, update with version, activate/end/cancel, dry-run check."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from starlette.concurrency import run_in_threadpool

from deconflict.api import convert
from deconflict.api import schemas as s
from deconflict.api.deps import CoreDep, CurrentPrincipal, PartyPrincipal
from deconflict.domain.disclosure import operation_view
from deconflict.domain.errors import InvalidInput
from deconflict.domain.operations import OperationState, PrivateDetails
from deconflict.domain.parties import Principal
from deconflict.domain.volumes import LatLng, Outline, polygon_outline
from deconflict.services import operations as ops
from deconflict.services.core import Core

router = APIRouter(prefix="/operations", tags=["operations"])


def _draft(core: CoreDep, body: s.OperationCreate | s.OperationUpdate) -> ops.OperationDraft:
    # An update's extents may include ones that have ended: the service judges only the changed ones.
    past_ok = isinstance(body, s.OperationUpdate)
    extents = convert.volumes(body.extents, core.clock.now(), core.limits, past_ok=past_ok)
    p = body.private
    private = (
        None if p is None else PrivateDetails(tuple(p.callsigns), p.aircraft_count, p.purpose, tuple(p.aircraft_ids))
    )
    return ops.OperationDraft(extents, private, None if body.state is None else OperationState(body.state))


def _filing(result: ops.FilingResult) -> s.FilingResponse:
    op = result.operation
    view = operation_view(op.party_id, op, None)
    assert view is not None
    out = convert.operation_out(view)
    assert isinstance(out, s.OperationOwn)
    return s.FilingResponse(
        operation=out,
        conflicts=[convert.conflict_out(c, "operation", op.id, op.party_id) for c in result.conflicts],
    )


# The two writes that answer with the most are `async` and hand their work to the thread pool once: a plain
# `def` endpoint is handed over twice (to run, then to check what it returns against its response model).


@router.post("", status_code=status.HTTP_201_CREATED)
async def file_operation(body: s.OperationCreate, core: CoreDep, principal: CurrentPrincipal) -> s.FilingResponse:
    """File an operation. Conflicts are reported, not blocking, unless `reject_on_conflict` is set (409)."""
    return await run_in_threadpool(_file, body, core, principal)


def _file(body: s.OperationCreate, core: Core, principal: Principal) -> s.FilingResponse:
    return _filing(ops.file_operation(core, principal, _draft(core, body), body.reject_on_conflict))


@router.post("/check")
def check(body: s.CheckRequest, core: CoreDep, principal: PartyPrincipal) -> s.CheckResponse:
    """Dry run: what filing these extents now (or, with `operation_id`, updating that operation to them)
    would meet: conflicts, notice; nothing is stored."""
    past_ok = body.operation_id is not None
    extents = convert.volumes(body.extents, core.clock.now(), core.limits, past_ok=past_ok)
    result = ops.check(core, principal, extents, body.operation_id)
    party = principal.party_id or ""
    return s.CheckResponse(
        conflicts=[convert.conflict_out(c, "check", "-", party) for c in result.conflicts],
        late_notice=convert.late_out(result.late_notice),
        notice_error=result.notice_error,
    )


def _bbox(value: str) -> Outline:
    try:
        west, south, east, north = (float(x) for x in value.split(","))
    except ValueError:
        raise InvalidInput("bbox must be 'west,south,east,north' in degrees", field="bbox") from None
    if not south < north:
        raise InvalidInput(f"bbox south ({south}) must be below north ({north})", field="bbox")
    if west == east:
        raise InvalidInput("bbox west and east must differ", field="bbox")
    if east < west:
        east += 360.0  # crosses the antimeridian
    mid = (west + east) / 2
    corners = [(south, west), (south, mid), (south, east), (north, east), (north, mid), (north, west)]
    points = [LatLng(lat, ((lng + 180.0) % 360.0) - 180.0 if lng > 180 else lng) for lat, lng in corners]
    return polygon_outline(points, convert.AREA_LIMITS, field_name="bbox")


@router.get("")
def list_operations(
    core: CoreDep,
    principal: PartyPrincipal,
    bbox: Annotated[str | None, Query(description="west,south,east,north (degrees); west > east crosses 180°")] = None,
    time_start: datetime | None = None,
    time_end: datetime | None = None,
    state: Annotated[list[OperationState] | None, Query()] = None,
    party_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[s.OperationOwn | s.OperationPublic]:
    """Operations visible to the caller: its own, and counterparts' that touch a shared agreement's area."""
    for name, t in (("time_start", time_start), ("time_end", time_end)):
        if t is not None and t.tzinfo is None:
            raise InvalidInput("time must carry a UTC offset", field=name)
    query = ops.OperationQuery(
        area=_bbox(bbox) if bbox else None,
        time_start=time_start,
        time_end=time_end,
        states=tuple(state or ()),
        party_id=party_id,
        limit=limit,
    )
    return [convert.operation_out(v) for v in ops.list_operations(core, principal, query)]


@router.get("/{operation_id}")
def get_operation(operation_id: str, core: CoreDep, principal: CurrentPrincipal) -> s.OperationOwn | s.OperationPublic:
    return convert.operation_out(ops.get_operation(core, principal, operation_id))


@router.put("/{operation_id}")
async def update_operation(
    operation_id: str, body: s.OperationUpdate, core: CoreDep, principal: CurrentPrincipal
) -> s.FilingResponse:
    """Replace the extents (and the state and private details, when given: omitted, they are kept);
    `version` must be the current one (stale: 409). Extents sent back unchanged are not judged again
    (notice, an end in the past); new or changed ones are."""
    return await run_in_threadpool(_update, operation_id, body, core, principal)


def _update(operation_id: str, body: s.OperationUpdate, core: Core, principal: Principal) -> s.FilingResponse:
    result = ops.update_operation(
        core, principal, operation_id, body.version, _draft(core, body), body.reject_on_conflict
    )
    return _filing(result)


def _transition(action: str):  # type: ignore[no-untyped-def]
    def handler(
        operation_id: str, core: CoreDep, principal: CurrentPrincipal, body: s.TransitionRequest | None = None
    ) -> s.FilingResponse:
        return _filing(ops.act(core, principal, operation_id, action, body.version if body else None))

    handler.__name__ = f"{action}_operation"
    handler.__doc__ = f"{action.capitalize()} the operation (optionally checking `version`)."
    return handler


for _action in ("activate", "end", "cancel"):
    router.add_api_route(f"/{{operation_id}}/{_action}", _transition(_action), methods=["POST"])
