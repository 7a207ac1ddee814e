"""Schemathesis checks for mock-tenant, loaded by harness/tenant/tests/schemathesis.rs through
SCHEMATHESIS_HOOKS. Schemathesis' own `not_a_server_error` finds the 5xx answers; this adds the
auth boundary: with SMIME_LAB_EXPECT_401=1 (the run that sends no credentials) every operation the
document secures (the admin API's bearer token, the lab endpoints' X-Lab-Secret) must answer 401,
whatever the generated request looks like.
"""

import os

import schemathesis

SECURED_PREFIXES = ("/adminapi/", "/lab/")


@schemathesis.check
def refused_without_credentials(ctx, response, case):
    if os.environ.get("SMIME_LAB_EXPECT_401") != "1":
        return None
    if not case.path.startswith(SECURED_PREFIXES):
        return None
    sent = {k.lower() for k in response.request.headers.keys()}
    if "authorization" in sent or "x-lab-secret" in sent:
        raise AssertionError(
            f"{case.method} {case.path}: the run without credentials sent one ({sorted(sent)})"
        )
    if response.status_code != 401:
        raise AssertionError(
            f"{case.method} {case.path} answered {response.status_code} without credentials; "
            "every secured operation must answer 401 before it reads anything"
        )
    return None
