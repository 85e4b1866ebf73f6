async def test_me(api, org):
    data = await api.data("{ me { email role } }", as_=org.client)
    assert data == {"me": {"email": org.client.user.email, "role": "CLIENT"}}
