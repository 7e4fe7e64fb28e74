#!/usr/bin/env bash
# One-time Vault setup for crossclear, run by a Vault operator with a token
# allowed to manage mounts, policies and auth methods (VAULT_ADDR and
# VAULT_TOKEN set). Idempotent: re-running it changes nothing that exists.
#
# It enables the transit engine, creates crossclear's two signing keys
# (ed25519 by default; ALGORITHM=ecdsa-p256 for ECDSA), installs the signer
# policy, and creates the AppRole crossclear logs in with. It prints the
# role id and writes a secret id to SECRET_ID_FILE (mode 0600) for the
# crossclear host; the secret id is never printed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ALGORITHM=${ALGORITHM:-ed25519}
SECRET_ID_FILE=${SECRET_ID_FILE:-./crossclear-secret-id}

vault secrets list -format=json | grep -q '"transit/"' || vault secrets enable transit
for key in crossclear-bank-files crossclear-regulator-checkpoints; do
  vault read -format=json "transit/keys/$key" >/dev/null 2>&1 || vault write -f "transit/keys/$key" type="$ALGORITHM"
done
vault policy write crossclear-signer "$here/crossclear-signer.hcl"
vault auth list -format=json | grep -q '"approle/"' || vault auth enable approle
vault write auth/approle/role/crossclear token_policies=crossclear-signer token_ttl=1h token_max_ttl=24h secret_id_ttl=0
echo "role id: $(vault read -field=role_id auth/approle/role/crossclear/role-id)"
umask 077
vault write -f -field=secret_id auth/approle/role/crossclear/secret-id > "$SECRET_ID_FILE"
echo "secret id written to $SECRET_ID_FILE; copy it to the crossclear host and delete it here"
