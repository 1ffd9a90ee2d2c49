"""Login throttling, shared by every worker and machine.

Every sign-in (the login form and ``POST /api/v1/security/login``) passes two counters: one of
the account (``user:<id>``, or ``name:<typed name>`` for a name no user has, so that a lock
tells nothing about which names exist) and one of the client's address.

- ``AUTH_LOCKOUT_ATTEMPTS`` (5) failures of an account within ``AUTH_LOCKOUT_MINUTES`` (15)
  lock it for ``AUTH_LOCKOUT_MINUTES``; the right password is refused until the lock ends by
  itself or an administrator lifts it (admin console, 用户 → 解除锁定).  A success resets the
  count.
- ``AUTH_ADDRESS_ATTEMPTS`` (20) failures from one address within
  ``AUTH_ADDRESS_LOCK_MINUTES`` (5) refuse every sign-in from it for that long, whatever the
  account: a password sprayed across many accounts is slowed as well.

An attempt is counted *before* its password is checked, in one atomic step (a row lock in the
database, INCR in Redis): of any number of attempts arriving at once from several workers, at
most the limit get their password checked.  A success gives the address its attempt back.

The counters live in the table ``login_throttle`` (default) or in Redis when ``REDIS_URL`` is
set — never in process memory.
"""

from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import dataclass

from flask import current_app, has_request_context, request
from flask_appbuilder import Model
from sqlalchemy import Integer, String, case, delete, or_, select, update
from sqlalchemy.orm import mapped_column

from app.engine.i18n import gettext as _

log = logging.getLogger(__name__)

ACCOUNT, ADDRESS, BUSY, LOOKUP = "account", "address", "busy", "lookup"


class LoginThrottle(Model):
    """Failures of one account or address: counted since ``window_start``, or a lock."""

    __tablename__ = "login_throttle"

    key = mapped_column(String(200), primary_key=True)
    failures = mapped_column(Integer, nullable=False, default=0)
    window_start = mapped_column(Integer)  # unix seconds
    locked_until = mapped_column(Integer)  # unix seconds


@dataclass(frozen=True)
class Rule:
    key: str
    kind: str  # ACCOUNT or ADDRESS
    limit: int
    seconds: int  # failures are counted within this window; a lock lasts this long


class LoginRefused(Exception):
    """Sign-in refused before the password was looked at."""

    def __init__(self, kind: str, retry_after: int):
        super().__init__(kind)
        self.kind = kind
        self.retry_after = max(1, int(retry_after))

    @property
    def message(self) -> str:
        minutes = max(1, math.ceil(self.retry_after / 60))
        if self.kind == ACCOUNT:
            return _("登录失败次数过多，账号已锁定，请 %(minutes)s 分钟后再试", minutes=minutes)
        if self.kind == ADDRESS:
            return _("该地址登录失败次数过多，请 %(minutes)s 分钟后再试", minutes=minutes)
        if self.kind == LOOKUP:
            return _("查询过于频繁，请 %(seconds)s 秒后再试", seconds=self.retry_after)
        return _("登录尝试过于频繁，请稍后再试")


def account_key(user_id: int | None, typed_name: str) -> str:
    if user_id is not None:
        return f"user:{user_id}"
    return "name:" + (typed_name or "").strip().lower()[:190]


def rules(account: str, address: str | None) -> list[Rule]:
    cfg = current_app.config
    out = [Rule(account, ACCOUNT, int(cfg.get("AUTH_LOCKOUT_ATTEMPTS", 5)),
                int(float(cfg.get("AUTH_LOCKOUT_MINUTES", 15)) * 60))]
    if address:
        out.append(Rule(f"addr:{address}", ADDRESS, int(cfg.get("AUTH_ADDRESS_ATTEMPTS", 20)),
                        int(float(cfg.get("AUTH_ADDRESS_LOCK_MINUTES", 5)) * 60)))
    return sorted(out, key=lambda r: r.key)  # one order everywhere: no deadlock between rows


def client_address() -> str | None:
    return request.remote_addr if has_request_context() else None


# --- the database ---------------------------------------------------------------------------
class DbCounters:
    """Counters in ``login_throttle`` through the app's session; each step is one short
    transaction holding the rows' locks (SELECT … FOR UPDATE on PostgreSQL; SQLite's writers
    queue on the database lock)."""

    def __init__(self, session):
        self.session = session

    def _ensure(self, keys: list[str]) -> None:
        dialect = self.session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        self.session.execute(insert(LoginThrottle).values(
            [{"key": k, "failures": 0} for k in keys]).on_conflict_do_nothing())

    def enter(self, rules_: list[Rule]) -> None:
        now = int(time.time())
        session = self.session
        try:
            self._ensure([r.key for r in rules_])
            rows = {row.key: row for row in session.scalars(
                select(LoginThrottle).where(LoginThrottle.key.in_([r.key for r in rules_]))
                .order_by(LoginThrottle.key).with_for_update())}
            refusal: LoginRefused | None = None
            for rule in rules_:
                row = rows[rule.key]
                if row.locked_until is not None and row.locked_until > now:
                    if refusal is None or row.locked_until - now > refusal.retry_after:
                        refusal = LoginRefused(rule.kind, row.locked_until - now)
                    continue
                if row.locked_until is not None or row.window_start is None \
                        or row.window_start + rule.seconds <= now:
                    row.locked_until, row.failures, row.window_start = None, 0, now
                if row.failures >= rule.limit and refusal is None:
                    # the limit is taken by attempts still being checked
                    refusal = LoginRefused(BUSY, 5) if rule.kind != LOOKUP else \
                        LoginRefused(LOOKUP, row.window_start + rule.seconds - now)
            if refusal is None:
                for rule in rules_:
                    rows[rule.key].failures += 1
            if random.random() < 0.01:
                self._purge(now)
            session.commit()
        except Exception:
            session.rollback()
            raise
        if refusal is not None:
            raise refusal

    def leave(self, rules_: list[Rule], success: bool) -> None:
        now = int(time.time())
        t = LoginThrottle
        for rule in rules_:
            if success and rule.kind == ACCOUNT:
                stmt = update(t).where(t.key == rule.key).values(
                    failures=0, window_start=None, locked_until=None)
            elif success:
                stmt = update(t).where(t.key == rule.key).values(
                    failures=case((t.failures > 0, t.failures - 1), else_=0))
            else:
                stmt = update(t).where(
                    t.key == rule.key, t.failures >= rule.limit,
                    or_(t.locked_until.is_(None), t.locked_until <= now),
                ).values(locked_until=now + rule.seconds, failures=0, window_start=None)
            if self.session.execute(stmt).rowcount and not success:
                _log_lock(rule)
        self.session.commit()

    def unlock(self, keys: list[str]) -> None:
        self.session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(keys)))
        self.session.commit()

    def locked(self, keys: list[str]) -> dict[str, int]:
        now = int(time.time())
        rows = self.session.execute(select(LoginThrottle.key, LoginThrottle.locked_until).where(
            LoginThrottle.key.in_(keys), LoginThrottle.locked_until > now))
        return {k: until - now for k, until in rows}

    def _purge(self, now: int) -> None:
        """Rows of names nobody typed for a day and of locks long over."""
        t = LoginThrottle
        self.session.execute(delete(t).where(
            or_(t.locked_until.is_(None), t.locked_until < now),
            or_(t.window_start.is_(None), t.window_start < now - 86400)))


# --- Redis ----------------------------------------------------------------------------------
_GIVE_BACK = "local v = redis.call('GET', KEYS[1]) " \
             "if v and tonumber(v) > 0 then return redis.call('DECR', KEYS[1]) end return 0"


class RedisCounters:
    """The same counters in Redis: ``<prefix>fail:<key>`` (INCR, expiring with its window)
    and ``<prefix>lock:<key>`` (expiring with the lock)."""

    _clients: dict[str, object] = {}

    def __init__(self, url: str, prefix: str = "swb:login:"):
        client = self._clients.get(url)
        if client is None:
            import redis

            client = self._clients[url] = redis.Redis.from_url(url)
        self.r = client
        self.prefix = prefix

    def _fail(self, key):
        return f"{self.prefix}fail:{key}"

    def _lock(self, key):
        return f"{self.prefix}lock:{key}"

    def enter(self, rules_: list[Rule]) -> None:
        refusal = None
        for rule in rules_:
            ttl = self.r.ttl(self._lock(rule.key))
            if ttl and ttl > 0 and (refusal is None or ttl > refusal.retry_after):
                refusal = LoginRefused(rule.kind, ttl)
        if refusal is not None:
            raise refusal
        taken = []
        for rule in rules_:
            pipe = self.r.pipeline()
            pipe.set(self._fail(rule.key), 0, ex=rule.seconds, nx=True)
            pipe.incr(self._fail(rule.key))
            n = pipe.execute()[1]
            taken.append(rule)
            if n > rule.limit:
                for done in taken:
                    self.r.eval(_GIVE_BACK, 1, self._fail(done.key))
                if rule.kind == LOOKUP:
                    raise LoginRefused(LOOKUP, self.r.ttl(self._fail(rule.key)) or rule.seconds)
                raise LoginRefused(BUSY, 5)

    def leave(self, rules_: list[Rule], success: bool) -> None:
        for rule in rules_:
            fail = self._fail(rule.key)
            if success and rule.kind == ACCOUNT:
                self.r.delete(fail)
            elif success:
                self.r.eval(_GIVE_BACK, 1, fail)
            elif int(self.r.get(fail) or 0) >= rule.limit:
                if self.r.set(self._lock(rule.key), 1, ex=rule.seconds, nx=True):
                    _log_lock(rule)
                self.r.delete(fail)

    def unlock(self, keys: list[str]) -> None:
        self.r.delete(*[k for key in keys for k in (self._fail(key), self._lock(key))])

    def locked(self, keys: list[str]) -> dict[str, int]:
        out = {}
        for key in keys:
            ttl = self.r.ttl(self._lock(key))
            if ttl and ttl > 0:
                out[key] = ttl
        return out


def counters(session) -> DbCounters | RedisCounters:
    url = current_app.config.get("REDIS_URL")
    if url:
        return RedisCounters(url, current_app.config.get("REDIS_PREFIX", "swb:login:"))
    return DbCounters(session)


def _log_lock(rule: Rule) -> None:
    log.warning("sign-in locked: %s for %d s after %d failures", rule.key, rule.seconds,
                rule.limit)


def count_lookup(session, user_id) -> None:
    """One look-up of the live preview or a type-ahead pick (they read other organisations'
    names by the code typed): at most ``LOOKUP_RATE`` (300) per user within
    ``LOOKUP_WINDOW_SECONDS`` (60), counted like sign-in attempts; raises LoginRefused(LOOKUP)
    with the seconds left beyond that."""
    cfg = current_app.config
    rule = Rule(f"lookup:{user_id}", LOOKUP, int(cfg.get("LOOKUP_RATE", 300)),
                int(cfg.get("LOOKUP_WINDOW_SECONDS", 60)))
    counters(session).enter([rule])


def unlock_users(user_ids) -> None:
    """Lift the lock of these users (the admin console's 解除锁定)."""
    keys = [account_key(int(i), "") for i in user_ids]
    counters(current_app.appbuilder.session).unlock(keys)
    log.info("sign-in lock lifted: %s", ", ".join(keys))
