"""Keys held in a PKCS#11 token (a hardware security module; SoftHSM2 in tests).

``token.py`` opens the token, ``signing.py`` keeps the access-token signing
keys in it, ``wrapping.py`` protects the data key with an AES key in it.
python-pkcs11 is imported only here, and only when a token is configured.
"""
