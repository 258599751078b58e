"""An independent OAuth 2.0 client (Python authlib) against keycard-oauth.

Run by keycard-axum's `oauth::an_independent_client_library_interoperates` with ISSUER, SECRET,
CODE, VERIFIER and REDIRECT in the environment; skipped when authlib is not installed.
"""
import os

import requests
from authlib.integrations.requests_client import OAuth2Session

os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # 127.0.0.1 over plain HTTP
issuer = os.environ["ISSUER"]
secret = os.environ["SECRET"]

meta = requests.get(issuer + "/.well-known/oauth-authorization-server", timeout=5).json()
assert meta["issuer"] == issuer, meta
token_url = meta["token_endpoint"]

# client_credentials with client_secret_basic
service = OAuth2Session(
    "service", secret, token_endpoint_auth_method="client_secret_basic", scope="orders:read"
)
token = service.fetch_token(token_url, grant_type="client_credentials")
assert token["token_type"] == "Bearer" and "refresh_token" not in token, token

# introspection with client_secret_post, as a resource server
api = OAuth2Session("api", secret, token_endpoint_auth_method="client_secret_post")
answer = api.introspect_token(meta["introspection_endpoint"], token=token["access_token"]).json()
assert answer["active"] is True and answer["client_id"] == "service", answer

# authorization_code with PKCE, then refresh, then revocation, by the public client
app = OAuth2Session("app", token_endpoint_auth_method="none", redirect_uri=os.environ["REDIRECT"])
login = app.fetch_token(
    token_url,
    grant_type="authorization_code",
    code=os.environ["CODE"],
    code_verifier=os.environ["VERIFIER"],
)
refreshed = app.refresh_token(token_url, refresh_token=login["refresh_token"])
assert refreshed["refresh_token"] != login["refresh_token"], refreshed
response = app.revoke_token(meta["revocation_endpoint"], token=refreshed["refresh_token"])
assert response.status_code == 200, response.text
answer = api.introspect_token(meta["introspection_endpoint"], token=refreshed["access_token"]).json()
assert answer == {"active": False}, answer
print("authlib interop ok")
