"""Firebase Authentication, as its emulator answers the one call a fallback client makes: exchanging a custom token
for an ID token (`POST /identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken?key=...`, the emulator's
form of https://identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken). Like the emulator, it does not
check the custom token's signature (only Google holds what would), but it does check its audience, expiry and uid,
and its ID tokens are unsigned (`alg: none`), which only the stand-in accepts. Developer claims become top-level
claims of the ID token, where the rules read them as `auth.token.<claim>`."""
import base64
import json
import time

CUSTOM_TOKEN_AUDIENCE = "https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit"
SIGN_IN_PATH = "/identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken"
ID_TOKEN_LIFETIME = 3600


class AuthError(Exception):
    """Answered as Google's APIs answer errors: {"error": {"code", "message", "status"}}."""

    def __init__(self, message, code=400):
        super().__init__(message)
        self.code, self.message = code, message

    def body(self):
        return {"error": {"code": self.code, "message": self.message, "status": "INVALID_ARGUMENT"}}


def _segment(text):
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def _encode(value):
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).rstrip(b"=").decode()


def sign_in(body, project, now=None):
    """The answer to signInWithCustomToken for `body` ({"token", "returnSecureToken"})."""
    now = int(now if now is not None else time.time())
    if not isinstance(body, dict) or not isinstance(body.get("token"), str):
        raise AuthError("MISSING_CUSTOM_TOKEN")
    parts = body["token"].split(".")
    try:
        header, claims = _segment(parts[0]), _segment(parts[1])
    except (IndexError, ValueError):
        raise AuthError("INVALID_CUSTOM_TOKEN : the token is not a JWT") from None
    if len(parts) != 3 or header.get("alg") not in ("RS256", "none"):
        raise AuthError("INVALID_CUSTOM_TOKEN : not an RS256 (or, for emulators, unsigned) JWT")
    if claims.get("aud") != CUSTOM_TOKEN_AUDIENCE:
        raise AuthError("INVALID_CUSTOM_TOKEN : wrong audience")
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= now or claims["exp"] - claims.get("iat", 0) > 3600:
        raise AuthError("INVALID_CUSTOM_TOKEN : expired, or valid for more than an hour")
    uid = claims.get("uid")
    if not isinstance(uid, str) or not 1 <= len(uid) <= 128:
        raise AuthError("INVALID_CUSTOM_TOKEN : uid must be 1 to 128 characters")
    developer = claims.get("claims") or {}
    id_claims = {**developer, "iss": f"https://securetoken.google.com/{project}", "aud": project, "auth_time": now,
                 "user_id": uid, "sub": uid, "iat": now, "exp": now + ID_TOKEN_LIFETIME,
                 "firebase": {"identities": {}, "sign_in_provider": "custom"}}
    id_token = _encode({"alg": "none", "typ": "JWT"}) + "." + _encode(id_claims) + "."
    return {"kind": "identitytoolkit#VerifyCustomTokenResponse", "idToken": id_token,
            "refreshToken": "stand-in-refresh-" + uid, "expiresIn": str(ID_TOKEN_LIFETIME), "isNewUser": False}


def user(id_token, project, now=None):
    """The rules' `auth` of an ID token this module issued: {"uid", "token"}; None for anything else (expired,
    another project's, or not one of its unsigned tokens)."""
    now = now if now is not None else time.time()
    parts = id_token.split(".")
    try:
        header, claims = _segment(parts[0]), _segment(parts[1])
    except (IndexError, ValueError):
        return None
    if len(parts) != 3 or header.get("alg") != "none" or claims.get("aud") != project:
        return None
    if claims.get("iss") != f"https://securetoken.google.com/{project}" or claims.get("exp", 0) <= now:
        return None
    return {"uid": claims["user_id"], "token": claims}
