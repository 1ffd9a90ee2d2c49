"""The shared base of every system: organisations, users, currency rates.

Every non-admin user belongs to one organisation; scope rules (``Own("company_id")``) compare a
record's organisation column with the user's.
"""

from __future__ import annotations

import datetime as dt
import decimal

from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User as FabUser
from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import mapped_column, relationship, validates

from app.engine import validators
from app.engine.i18n import lazy_gettext as _l
from app.engine.memo import memo
from app.engine.notify import register_organisations

COMPANY, INSTITUTION, CUSTOMS_UNIT, COMMERCE_OFFICE = "company", "institution", "customs", "commerce"
ORG_KINDS = [
    (COMPANY, _l("企业")),
    (INSTITUTION, _l("检验机构")),
    (CUSTOMS_UNIT, _l("海关")),
    (COMMERCE_OFFICE, _l("商务主管部门")),
]


@register_organisations
class Organisation(Model):
    """A company, an inspection institution, a customs unit or a commerce office."""

    __tablename__ = "organisation"

    id = mapped_column(Integer, primary_key=True)
    kind = mapped_column(String(20), nullable=False, index=True)
    name = mapped_column(String(200), nullable=False)
    name_en = mapped_column(String(200))
    # Companies: 统一社会信用代码 (GB 32100) and 组织机构代码 (GB 11714); the latter is the
    # 主体标识码 inside the former (positions 9-17).
    uscc = mapped_column(String(18), unique=True)
    org_code = mapped_column(String(10))
    # 海关编码 (10 characters) of a company: the 进口商编码 of the licence system.
    customs_code = mapped_column(String(10), unique=True)
    # Customs units: the 关区 codes they handle, comma separated.
    customs_district = mapped_column(String(200))
    country = mapped_column(String(3))
    province = mapped_column(String(10))
    address = mapped_column(String(300))
    contact = mapped_column(String(60))
    phone = mapped_column(String(40))
    email = mapped_column(String(120))
    active = mapped_column(Boolean, nullable=False, default=True)

    def __repr__(self):
        return self.name

    @property
    def customs_codes(self) -> tuple[str, ...]:
        return tuple(c.strip() for c in (self.customs_district or "").split(",") if c.strip())

    @validates("uscc")
    def _check_uscc(self, key, value):
        value = (value or "").strip().upper() or None
        validators.uscc(value)
        return value

    @validates("org_code")
    def _check_org_code(self, key, value):
        value = (value or "").strip().upper() or None
        if value and len(value) == 9:
            value = f"{value[:8]}-{value[8]}"
        validators.org_code(value)
        return value

    @validates("customs_code")
    def _check_customs_code(self, key, value):
        value = (value or "").strip().upper() or None
        if value and (len(value) != 10 or not value.isalnum()):
            raise ValueError(_l("海关编码应为 10 位字母或数字"))
        return value

    def check_codes_agree(self) -> None:
        """The 组织机构代码 must be the 主体标识码 (positions 9-17) of the USCC."""
        if self.uscc and self.org_code and self.uscc[8:17] != self.org_code.replace("-", ""):
            raise ValueError(_l("组织机构代码与统一社会信用代码第 9-17 位不一致"))


class AppUser(FabUser):
    """FAB's user plus the organisation the user belongs to."""

    __tablename__ = "ab_user"

    organisation_id = mapped_column(Integer, ForeignKey("organisation.id"), nullable=True)
    organisation = relationship(Organisation, lazy="joined")
    mobile = mapped_column(String(20))
    # Moves when the user signs out or the password changes: sessions and tokens issued under
    # an older epoch no longer authenticate (app.security).
    session_epoch = mapped_column(Integer, nullable=False, default=0, server_default="0")


class SecurityStamp(Model):
    """One row whose ``version`` moves whenever a user, organisation, role or permission
    changes (``app.security``).  Every process compares it with the version of its cached
    users and permissions, so a change made through one worker reaches all of them at once."""

    __tablename__ = "security_stamp"

    id = mapped_column(Integer, primary_key=True)
    version = mapped_column(Integer, nullable=False, default=0)


class CurrencyRate(Model):
    """Monthly conversion rate of a currency to US dollars (折美元)."""

    __tablename__ = "currency_rate"

    id = mapped_column(Integer, primary_key=True)
    currency = mapped_column(String(3), nullable=False)
    valid_from = mapped_column(Date, nullable=False)
    usd_rate = mapped_column(Numeric(18, 8), nullable=False)  # 1 unit of currency = x USD
    source = mapped_column(String(200))

    __table_args__ = (UniqueConstraint("currency", "valid_from", name="uq_currency_rate"),)

    def __repr__(self):
        return f"{self.currency} {self.valid_from}"


def usd_rate(session, currency: str | None, on: dt.date | None = None) -> decimal.Decimal | None:
    """The rate in force on a date (the latest one not after it)."""
    if not currency:
        return None
    if currency == "USD":
        return decimal.Decimal(1)
    on = on or dt.date.today()
    return memo(session, ("usd_rate", currency, on), lambda: session.scalar(
        select(CurrencyRate.usd_rate)
        .where(CurrencyRate.currency == currency, CurrencyRate.valid_from <= on)
        .order_by(CurrencyRate.valid_from.desc())
        .limit(1)
    ))
