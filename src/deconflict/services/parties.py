"""Parties and their bearer tokens: random secrets, stored only as SHA-256 hashes, revocable."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from deconflict.domain.errors import InvalidInput, NotFound
from deconflict.domain.parties import Party, Principal, Role
from deconflict.services.core import CLI, Core, new_id
from deconflict.storage.repository import live_token

TOKEN_PREFIX = "dcf_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_party(
    core: Core, name: str, role: Role = Role.SUPERVISOR, label: str = "", *, actor: Principal = CLI
) -> tuple[Party, str]:
    """Create a party with one token of `role`; returns the party and the token (shown once)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("party name must be 1-200 characters", field="name")
    if role is Role.ADMIN:
        raise InvalidInput("a party token cannot have the admin role", field="role")
    with core.write(actor, index=False) as tx:
        if tx.repo.party_by_name(name) is not None:
            raise InvalidInput(f"a party named {name!r} already exists", field="name")
        party = Party(new_id(), name, tx.now)
        tx.repo.add_party(party)
        tx.audit("party.created", ("party", party.id), {"name": name}, [party.id])
        token = _new_token()
        token_id = new_id()
        tx.repo.add_token(token_id, party.id, role, hash_token(token), label, tx.now)
        tx.audit("token.issued", ("token", token_id), {"role": role.value, "label": label}, [party.id])
    return party, token


def issue_token(
    core: Core, party_name: str | None, role: Role, label: str = "", *, actor: Principal = CLI
) -> tuple[str, str]:
    """A new token for an existing party (or an admin token when `party_name` is None); (token id, token)."""
    with core.write(actor, index=False) as tx:
        party_id = None
        if party_name is not None and role is Role.ADMIN:
            raise InvalidInput("an admin token belongs to no party: omit the party", field="role")
        if party_name is not None:
            party = tx.repo.party_by_name(party_name)
            if party is None:
                raise NotFound(f"no party named {party_name!r}", field="party")
            party_id = party.id
        elif role is not Role.ADMIN:
            raise InvalidInput("a token without a party must have the admin role", field="role")
        token = _new_token()
        token_id = new_id()
        tx.repo.add_token(token_id, party_id, role, hash_token(token), label, tx.now)
        tx.audit("token.issued", ("token", token_id), {"role": role.value, "label": label}, [party_id or ""])
    return token_id, token


def revoke_token(core: Core, token_id: str, party_id: str | None = None, *, actor: Principal = CLI) -> None:
    with core.write(actor, index=False) as tx:
        row = tx.repo.token(token_id)
        if row is None or (party_id is not None and row.party_id != party_id):
            raise NotFound("no such token", field="token_id")
        if row.revoked_at is None:
            row.revoked_at = tx.now
            tx.audit("token.revoked", ("token", token_id), {}, [row.party_id or ""])


def authenticate(core: Core, token: str, admin_token: str | None = None) -> Principal | None:
    """The principal behind a bearer token, or None if unknown or revoked."""
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return Principal("settings-admin", None, None, Role.ADMIN)
    with core.engine.connect() as conn:
        found = live_token(conn, hash_token(token))
    if found is None:
        return None
    token_id, party_id, role, party_name = found
    return Principal(token_id, party_id, party_name, Role(role))
