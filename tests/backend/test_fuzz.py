"""Property: no body and no content type makes /predict or /predict/number answer 5xx."""

from __future__ import annotations

import base64
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CONTENT_TYPES = st.one_of(
    st.sampled_from([
        "application/json", "text/plain", "text/plain;charset=UTF-8", "multipart/form-data",
        "multipart/form-data; boundary=xyz", "image/png", "image/jpeg", "image/gif",
        "application/x-www-form-urlencoded", "application/octet-stream", "", "application/xml",
    ]),
    # Any printable header value (control characters never reach a server: clients refuse them).
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
)
PNG_HEADER = b"\x89PNG\r\n\x1a\n"
BODIES = st.one_of(
    st.binary(max_size=2048),
    st.binary(max_size=512).map(lambda b: PNG_HEADER + b),
    st.binary(max_size=512).map(lambda b: b"\xff\xd8\xff" + b),
    st.text(max_size=512).map(str.encode),
    st.binary(max_size=512).map(lambda b: b"data:image/png;base64," + base64.b64encode(b)),
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=30)),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(
            st.sampled_from(["image", "return_input", "x"]), children, max_size=3),
        max_leaves=8,
    ).map(lambda value: json.dumps(value).encode()),
)


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=BODIES, content_type=CONTENT_TYPES, route=st.sampled_from(["/predict",
                                                                         "/predict/number"]))
def test_no_input_gets_a_5xx(client, body, content_type, route):
    response = client.post(route, data=body, content_type=content_type)
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.is_json
    if response.status_code >= 400:
        assert set(response.get_json()["error"]) == {"code", "message"}
