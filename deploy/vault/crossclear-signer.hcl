# What a crossclear serve process may do in Vault: sign with its named keys
# and read their public keys. Nothing else — no rotation, no export, no other
# keys. Rotation is an operator's act (crossclear-operator.hcl).
path "transit/sign/crossclear-bank-files" {
  capabilities = ["update"]
}
path "transit/sign/crossclear-bank-files/*" {
  capabilities = ["update"]
}
path "transit/keys/crossclear-bank-files" {
  capabilities = ["read"]
}
path "transit/sign/crossclear-regulator-checkpoints" {
  capabilities = ["update"]
}
path "transit/sign/crossclear-regulator-checkpoints/*" {
  capabilities = ["update"]
}
path "transit/keys/crossclear-regulator-checkpoints" {
  capabilities = ["read"]
}
