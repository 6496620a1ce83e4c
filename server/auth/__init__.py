"""Who is calling, and what they may do.

- ``passwords``: Argon2id hashing and the password policy;
- ``keys``: the ES256 signing keys (with key ids, rotation and the JWK Set);
- ``tokens``: issuing access tokens and validating them per RFC 8725;
- ``directory``: users, their trading accounts, sessions (rotating refresh
  tokens in families) and API keys, kept in the store;
- ``access``: the access rule of every RPC, read from the contract.
"""
