"""可视化审核's 审核记录: the boxes a closed round marked wrong are named in the reader's language,
worked out from their paths when shown (a round keeps the labels it was closed with only for a
box the form no longer has)."""

from __future__ import annotations

import html
import json
import re

from flask_babel import force_locale
from sqlalchemy import func, select

RETURNED = 3  # the demo's declaration returned by reviewer1 with 提运单号 and 第2项 数量及单位 red
HISTORY = re.compile(r'<div class="card rv-history">.*?<tbody>(.*?)</tbody>', re.S)
ROW = re.compile(r"<tr><td>(\d+)</td>.*?</td>\s*<td>([^<]*)</td><td>[^<]*</td></tr>", re.S)


def _rounds(b, pk) -> dict[int, str]:
    """Round number -> its 标为错误的字段 cell, as the visual review screen shows them."""
    status, page = b.text(f"/cd_declaration/{pk}/visual_review")
    assert status == 200
    body = HISTORY.search(page)
    assert body, "no 审核记录 table"
    return {int(n): html.unescape(cell) for n, cell in ROW.findall(body.group(1))}


def _box_labels(app, dec_id, locale) -> dict[str, str]:
    from app import db as _db
    from app.engine.record import REGISTRY
    from app.engine.review_marks import feature_of

    model = REGISTRY["cd_declaration"]
    with app.test_request_context(), force_locale(locale):
        dec = _db.session.get(model, dec_id)
        out = {p: str(label) for p, label in feature_of(model).paths(dec).items()}
        _db.session.remove()
    return out


def test_the_boxes_marked_wrong_are_named_in_the_readers_language(app, browser, api):
    en, zh = _box_labels(app, RETURNED, "en"), _box_labels(app, RETURNED, "zh_CN")
    assert en["bill_no"] == "Bill of lading No." and en["goods.2.g_qty"] != zh["goods.2.g_qty"]
    b = browser("reviewer1")
    assert _rounds(b, RETURNED)[1] == "、".join([zh["bill_no"], zh["goods.2.g_qty"]])
    b.get("/lang/en")
    assert _rounds(b, RETURNED)[1] == ", ".join([en["bill_no"], en["goods.2.g_qty"]])
    # the REST API names them the same way
    state = api("reviewer1").get(f"/api/v1/cd_declaration/{RETURNED}/review_marks?_l_=en").json
    assert state["rounds"][0]["red"] == [{"path": "bill_no", "label": en["bill_no"]},
                                         {"path": "goods.2.g_qty", "label": en["goods.2.g_qty"]}]


def test_a_box_the_form_no_longer_has_keeps_the_label_it_was_closed_with(app, browser, db):
    """A round stored before (path and label) whose goods line is gone since: its label as
    stored; the other boxes of the round in the reader's language."""
    from app.engine.review_marks import ReviewRound

    last = db.scalar(select(func.max(ReviewRound.round_no)).where(
        ReviewRound.entity == "cd_declaration", ReviewRound.record_id == RETURNED))
    db.add(ReviewRound(entity="cd_declaration", record_id=RETURNED, round_no=last + 1,
                       outcome="returned", reviewer_name="赵审", opinion="",
                       red=json.dumps([["goods.9.g_qty", "第9项 数量及单位"],
                                       ["ie_port", "出境关别"]], ensure_ascii=False)))
    db.commit()
    en = _box_labels(app, RETURNED, "en")
    assert "goods.9.g_qty" not in en
    b = browser("reviewer1")
    b.get("/lang/en")
    assert _rounds(b, RETURNED)[last + 1] == f"第9项 数量及单位, {en['ie_port']}"
