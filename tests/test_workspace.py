"""The workspace's left 功能栏 through HTTP: built from the declarations for each role, with the
pinyin initials its filter matches, and nothing of it before signing in."""

from __future__ import annotations

import re

from app.engine.sidebar import initials


def sections(html: str) -> list[str]:
    return [s.strip() for s in re.findall(
        r'<div class="system-label"[^>]*>\s*<i[^>]*></i><span class="text">([^<]+)</span>', html)]


def test_initials_of_chinese_names_and_of_mixed_text():
    assert initials("机电产品进口申请") == "jdcpjksq"
    assert initials("HS编码") == "hsbm"
    assert initials("证书申请 › 关联") == "zssq › gl"


def test_each_role_gets_its_systems_and_functions(browser):
    html = browser("customs1").get("/").get_data(as_text=True)
    assert sections(html) == ["系统通知", "进口旧机电产品装运前检验监督管理", "智慧云报关 进出口管理",
                              "机电产品进口单证"]
    assert re.search(r'<a class="menu-entry" href="/cd_declaration/" data-py="bgsjcx"'
                     r' title="报关数据查询">报关数据查询</a>', html)
    assert 'data-py="ycztdj"' in html                      # the group 异常状态登记
    assert ".navbar .dropdown-toggle" not in html and "navbar-nav\">\n" not in html
    inst = browser("institution1").get("/").get_data(as_text=True)
    assert "智慧云报关 进出口管理" not in sections(inst) and "/cd_declaration/" not in inst
    admin = browser("admin").get("/").get_data(as_text=True)
    assert sections(admin)[-1] == "系统管理"


def test_no_menu_and_no_tabs_before_signing_in(app):
    html = app.test_client().get("/login/").get_data(as_text=True)
    assert 'id="sidebar"' not in html and 'id="page-tabs"' not in html


def test_the_collapsed_menu_is_rendered_collapsed(browser):
    b = browser("enterprise1")
    b.client.set_cookie("sidebar", "collapsed")
    html = b.get("/").get_data(as_text=True)
    assert 'class="workspace sidebar-collapsed"' in html


def test_the_products_pages_are_on_bootstrap_5_and_flask_appbuilders_screens_keep_theirs(app, browser):
    """The product's pages (lists, forms, statistics …) and 登录 load Bootstrap 5 from the app's
    own static/vendor, and none of Bootstrap 3's files; Flask-AppBuilder's screens (users,
    profile), written for its Bootstrap 3, keep that one. The top bar and the 功能栏 are the same
    on both."""
    admin, ent = browser("admin"), browser("enterprise1")
    bs5 = "/assets/vendor/bootstrap/bootstrap.min.css"
    bs3 = "/static/appbuilder/css/bootstrap.min.css"
    for path in ("/", "/cd_declaration/", "/cd_declaration/new?kind=E_DEC", "/jobs/",
                 "/cd_declaration_exception/stats/", "/cd_declaration/1/history?tab=flow"):
        html = ent.get(path).get_data(as_text=True)
        assert bs5 in html and "vendor/bootstrap/bootstrap.bundle.min.js" in html, path
        assert bs3 not in html and "appbuilder/js/bootstrap.min.js" not in html, path
        assert 'class="toolkit-bs5"' in html and 'class="navbar top-bar"' in html, path
    users = admin.get("/users/list/").get_data(as_text=True)
    assert bs3 in users and bs5 not in users and 'class="toolkit-bs3"' in users
    assert 'class="navbar top-bar"' in users and 'id="sidebar"' in users
    assert bs3 in admin.get("/users/userinfo/").get_data(as_text=True)
    login = app.test_client().get("/login/").get_data(as_text=True)
    assert bs5 in login and bs3 not in login and 'class="card login-card' in login
    # the served file is the one the licence and version notes describe
    resp = admin.get(bs5)
    assert resp.status_code == 200 and b"Bootstrap  v5.3.9" in resp.get_data()[:200]


def test_a_menu_label_cut_in_the_sidebar_is_read_whole_in_its_tooltip(browser):
    """Long English group names end in … in the 功能栏; their title gives the whole name."""
    b = browser("enterprise1")
    assert b.get("/lang/en").status_code == 302
    html = b.get("/").get_data(as_text=True)
    assert 'aria-expanded="false" title="M&amp;E product import licences"' in html
    assert 'title="Coordination for a Customs Certificate of Origin"' in html


def test_the_home_page_names_publisher_and_organisation_in_the_readers_language(browser):
    """首页's 公告消息 name their 发布单位 as 公告消息's own list does (系统 is "System" in English),
    and the user's box names the user's organisation in English where it has an English name."""
    def publishers(html):
        return re.findall(r'<td class="text-muted small">([^<]*)</td>', html)

    for username in ("institution1", "enterprise1", "admin"):
        b = browser(username)
        zh = publishers(b.get("/").get_data(as_text=True))
        assert b.get("/lang/en").status_code == 302
        html = b.get("/").get_data(as_text=True)
        en = publishers(html)
        assert len(en) == len(zh), username
        assert "系统" not in en, (username, en)
        assert [p if p != "系统" else "System" for p in zh] == en, username
        if username == "institution1":
            assert "系统" in zh
            box = html[html.index('<i class="fa fa-user"></i>'):]
            assert "Japan Machinery Inspection Co., Ltd." in box[:400]
            assert "日本机械检验株式会社" not in box
    zh = browser("institution1").get("/").get_data(as_text=True)
    assert "日本机械检验株式会社" in zh[zh.index('<i class="fa fa-user"></i>'):][:400]
