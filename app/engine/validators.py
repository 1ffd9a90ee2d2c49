"""Format validators shared by every system.  Each raises ValueError with the user's message.

Algorithms (facts, with their sources in ../shared/domain/FIELD_NOTES.txt §1):
- 统一社会信用代码 GB 32100-2015: 18 characters of "0123456789ABCDEFGHJKLMNPQRTUWXY", check
  character = CHARS[(31 - Σ value·weight mod 31) mod 31], weights 1,3,9,27,19,26,16,17,20,29,25,
  13,8,24,10,30,28.
- 组织机构代码 GB 11714: 8 body characters [0-9A-Z] (A=10 … Z=35), weights 3,7,9,10,5,8,4,2,
  check = 11 - Σ mod 11, 10 → 'X', 11 → '0'; written XXXXXXXX-X.
- 居民身份证号 GB 11643: 17 digits + check "10X98765432"[Σ digit·weight mod 11], weights
  7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2, and a real birth date at positions 7-14.
- Mobile ^1[3-9][0-9]{9}$; landline ^(0[0-9]{2,3}-?)?[2-9][0-9]{6,7}(-[0-9]{1,6})?$.
  Every pattern says [0-9]: \\d also matches full-width digits (８４５８…).
"""

from __future__ import annotations

import datetime as dt
import re

from .i18n import gettext as _

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"

MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")
LANDLINE_RE = re.compile(r"^(0[0-9]{2,3}-?)?[2-9][0-9]{6,7}(-[0-9]{1,6})?$")
# International numbers for institutions abroad: +, digits, spaces, dashes, parentheses.
INTL_PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()\-]{5,24}$")
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")


def uscc_check_char(body17: str) -> str:
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(body17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def is_uscc(value: str) -> bool:
    value = (value or "").strip().upper()
    if len(value) != 18 or any(c not in USCC_CHARS for c in value):
        return False
    if not value[2:8].isdigit():
        return False
    return uscc_check_char(value[:17]) == value[17]


def uscc(value) -> None:
    if value in (None, ""):
        return
    if not is_uscc(str(value)):
        raise ValueError(_("统一社会信用代码格式或校验位错误"))


def org_code_check_char(body8: str) -> str:
    total = 0
    for c, w in zip(body8, ORG_WEIGHTS, strict=True):
        v = int(c) if c.isdigit() else ord(c) - 55
        total += v * w
    r = 11 - total % 11
    return "X" if r == 10 else "0" if r == 11 else str(r)


def is_org_code(value: str) -> bool:
    value = (value or "").strip().upper().replace("-", "")
    if len(value) != 9 or not re.fullmatch(r"[0-9A-Z]{8}[0-9X]", value):
        return False
    return org_code_check_char(value[:8]) == value[8]


def org_code(value) -> None:
    if value in (None, ""):
        return
    if not is_org_code(str(value)):
        raise ValueError(_("组织机构代码格式或校验位错误"))


def is_id_number(value: str) -> bool:
    value = (value or "").strip().upper()
    if not re.fullmatch(r"[0-9]{17}[0-9X]", value):
        return False
    try:
        dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    total = sum(int(c) * w for c, w in zip(value[:17], ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11] == value[17]


def id_number(value) -> None:
    if value in (None, ""):
        return
    if not is_id_number(str(value)):
        raise ValueError(_("身份证号码格式或校验位错误"))


def mobile(value) -> None:
    if value in (None, ""):
        return
    if not MOBILE_RE.match(str(value)):
        raise ValueError(_("手机号码格式错误，应为 11 位数字，以 1 开头"))


def phone(value) -> None:
    """A mainland landline or mobile number."""
    if value in (None, ""):
        return
    v = str(value)
    if not (MOBILE_RE.match(v) or LANDLINE_RE.match(v)):
        raise ValueError(_("电话号码格式错误"))


def intl_phone(value) -> None:
    """A telephone number that may be foreign (institutions abroad)."""
    if value in (None, ""):
        return
    v = str(value)
    if not (MOBILE_RE.match(v) or LANDLINE_RE.match(v) or INTL_PHONE_RE.match(v)):
        raise ValueError(_("电话号码格式错误"))


def email(value) -> None:
    if value in (None, ""):
        return
    if not EMAIL_RE.match(str(value)):
        raise ValueError(_("电子邮件格式错误"))


def hs_code(value) -> None:
    if value in (None, ""):
        return
    if not re.fullmatch(r"[0-9]{10}", str(value)):
        raise ValueError(_("商品编码应为 10 位数字"))


def entry_id(value) -> None:
    """海关编号 / 报关单号: 18 digits."""
    if value in (None, ""):
        return
    if not re.fullmatch(r"[0-9]{18}", str(value)):
        raise ValueError(_("报关单号应为 18 位数字"))


def postcode(value) -> None:
    if value in (None, ""):
        return
    if not re.fullmatch(r"[0-9]{6}", str(value)):
        raise ValueError(_("邮政编码应为 6 位数字"))


def positive(value) -> None:
    if value is None:
        return
    if value <= 0:
        raise ValueError(_("必须大于 0"))


def not_negative(value) -> None:
    if value is None:
        return
    if value < 0:
        raise ValueError(_("不能为负数"))


def not_past(value) -> None:
    """A date that must not lie before today (a certificate's validity, a deadline)."""
    if value is None:
        return
    day = value.date() if isinstance(value, dt.datetime) else value
    if day < dt.date.today():
        raise ValueError(_("不能早于今天（%(today)s）", today=dt.date.today().isoformat()))


# Dates typed by people lie in this span: 0202-12-08 (a slip for 2026) or 9999-12-31 (for
# "no end") is no date of a trade, a machine's manufacture or a certificate.
FIRST_DATE, LAST_DATE = dt.date(1900, 1, 1), dt.date(2099, 12, 31)


def in_era(value) -> None:
    """A date (or time) entered from FIRST_DATE to LAST_DATE."""
    if value is None:
        return
    day = value.date() if isinstance(value, dt.datetime) else value
    if not FIRST_DATE <= day <= LAST_DATE:
        raise ValueError(_("日期应在 %(first)s 至 %(last)s 之间", first=FIRST_DATE.isoformat(),
                           last=LAST_DATE.isoformat()))


FIRST_YEAR = 2000  # before the single window and its catalogues


def year(value) -> None:
    """A calendar year a record is about (a catalogue's, a report's, a track record's): from
    FIRST_YEAR to next year — not −1, 0 or 2147483647."""
    if value is None:
        return
    if not FIRST_YEAR <= int(value) <= dt.date.today().year + 1:
        raise ValueError(_("年份应在 %(first)s 至 %(last)s 之间", first=FIRST_YEAR,
                           last=dt.date.today().year + 1))


def not_future(value) -> None:
    """A date that must not lie after today (a date of manufacture, of signature)."""
    if value is None:
        return
    day = value.date() if isinstance(value, dt.datetime) else value
    if day > dt.date.today():
        raise ValueError(_("不能晚于今天（%(today)s）", today=dt.date.today().isoformat()))


YEAR_MONTH_RE = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")


def year_month(value) -> None:
    """年月 written YYYY-MM (制造年月), not after the current month."""
    if value in (None, ""):
        return
    m = YEAR_MONTH_RE.match(str(value))
    if not m:
        raise ValueError(_("格式应为 YYYY-MM，例如 2016-05"))
    if (int(m.group(1)), int(m.group(2))) > (dt.date.today().year, dt.date.today().month):
        raise ValueError(_("不能晚于本月"))


def max_length(n: int):
    def check(value) -> None:
        if value is not None and len(str(value)) > n:
            raise ValueError(_("长度不能超过 %(n)s 个字符", n=n))

    return check


# ISO 6346 freight container numbers: owner code (3 letters) + category (U, J or Z) + 6-digit
# serial + check digit.  Letters count A=10 … Z=38 skipping the multiples of 11; each of the
# first ten characters is weighted 2^position; check = (Σ mod 11) mod 10.
_ISO6346 = {}
_v = 10
for _c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
    if _v % 11 == 0:
        _v += 1
    _ISO6346[_c] = _v
    _v += 1
_ISO6346.update({str(d): d for d in range(10)})


def container_check_digit(first10: str) -> int:
    total = sum(_ISO6346[c] * (2 ** i) for i, c in enumerate(first10))
    return total % 11 % 10


def is_container_no(value: str) -> bool:
    value = (value or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}[UJZ][0-9]{7}", value):
        return False
    return container_check_digit(value[:10]) == int(value[10])


def container_no(value) -> None:
    if value in (None, ""):
        return
    if not re.fullmatch(r"[A-Z]{3}[UJZ][0-9]{7}", str(value)):
        raise ValueError(_("集装箱号应为 4 位字母（第 4 位为 U、J 或 Z）加 7 位数字"))
    if not is_container_no(str(value)):
        raise ValueError(_("集装箱号校验位错误"))
