async def test_rig(page_as, factory):
    user = await factory.user(role="technician")
    page = await page_as(user)
    resp = await page.goto("/api/v1/me")
    assert resp.status == 200
    assert user.email in await page.content()


async def test_rig_fail(page_as, factory):
    user = await factory.user(role="technician")
    page = await page_as(user)
    await page.goto("/login")
    assert False
