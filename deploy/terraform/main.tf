resource "helm_release" "stocktraderx" {
  name             = var.release_name
  namespace        = var.namespace
  create_namespace = var.create_namespace
  chart            = "${path.module}/../helm/stocktraderx"

  # Values as documents rather than set blocks, whose syntax differs
  # between the provider's major versions.
  values = concat(
    [for path in var.values_files : file(path)],
    [yamlencode(var.values)],
  )

  wait    = true
  timeout = var.timeout_seconds
  # No automatic rollback: rolling the core back is an operator's decision
  # (docs/deploy.md, "Upgrade and rollback").
  atomic = false
}
