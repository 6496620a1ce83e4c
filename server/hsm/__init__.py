"""Keys held in a PKCS#11 token (a hardware security module; SoftHSM2 in tests).

``key_source.py`` chooses where the keys come from: files (the default) or
the token; it lives here rather than in ``auth/`` so that ``auth/`` (whose key
ring ``signing.py`` extends) never imports this package. ``token.py`` opens
the token (one logged-in session per process, shared), ``signing.py`` keeps
the access-token signing keys in it, ``wrapping.py`` protects the data key
with an AES key in it. To unwrap the data key at
start::

    token = token_settings(settings.pkcs11_module, settings.pkcs11_token)
    session = open_session(token)
    try:
        data_key = unwrap_data_key(session, wrapped)
    finally:
        release_session(token)
python-pkcs11 is imported only here, and only when a token is configured.
"""
