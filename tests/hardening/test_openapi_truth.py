"""The API document tells the truth: every error status a route answers is documented with
the body it sends, and real error bodies validate against it."""

from __future__ import annotations

import jsonschema_rs

from tests.factories import open_session


async def spec(client) -> dict:
    r = await client.get("/api/openapi.json")
    assert r.status_code == 200
    return r.json()


def validator(document: dict, ref: str) -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for({"components": document["components"], "$ref": ref})


async def test_every_api_operation_documents_its_error_answers(client):
    document = await spec(client)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            documented = set(operation["responses"])
            assert "422" in documented, (method, path)
            if path.startswith("/api/") and path != "/api/v1/auth/login":
                assert {"401", "403"} <= documented, (method, path)
            if "{" in path:
                assert "404" in documented, (method, path)
            if method in ("post", "patch", "delete") and path.startswith("/api/v1/"):
                assert "409" in documented or path.startswith("/api/v1/auth/"), (method, path)
            if "requestBody" in operation:
                assert "413" in documented, (method, path)
            for status, answer in operation["responses"].items():
                if status >= "400" and path not in ("/readyz", "/metrics"):
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path)
    login = document["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert "Retry-After" in login["429"]["headers"]


async def test_real_error_bodies_match_the_documented_shape(client, factory):
    document = await spec(client)
    error = validator(document, "#/components/schemas/Error")
    team = await factory.team()
    s = await open_session(client, team["tech"])
    answers = [
        # request validation: a list of field errors
        await client.post("/api/v1/sessions", json={"title": ""}, headers=team["tech"].headers),
        # a business rule on one field: a sentence plus the field
        await client.post(
            f"/api/v1/sessions/{s['id']}/assistant/keep",
            json={"token": "nope", "answer": "x"},
            headers=team["tech"].headers,
        ),
        await client.get("/api/v1/me"),  # 401
        await client.get("/api/v1/handoffs/queue", headers=team["tech"].headers),  # 403
        await client.get("/api/v1/sessions/nope", headers=team["tech"].headers),  # 404
        await client.get("/api/v1/sessions?q=%00", headers=team["tech"].headers),  # 422, query
    ]
    assert [r.status_code for r in answers] == [422, 422, 401, 403, 404, 422]
    for r in answers:
        assert error.is_valid(r.json()), r.json()
    assert isinstance(answers[1].json()["detail"], str) and answers[1].json()["field"] == "token"
    ready = validator(document, "#/components/schemas/Readiness")
    assert ready.is_valid((await client.get("/readyz")).json())
