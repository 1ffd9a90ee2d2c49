def test_enterprise_sees_its_licence_list(browser):
    b = browser("enterprise1")
    status, html = b.text("/me_licence_application/")
    assert status == 200
    assert "JD20260000000001" in html or "JD" in html
