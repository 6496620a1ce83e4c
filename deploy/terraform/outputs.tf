output "release" {
  description = "The release's name, namespace and status."
  value = {
    name      = helm_release.stocktraderx.name
    namespace = helm_release.stocktraderx.namespace
    status    = helm_release.stocktraderx.status
  }
}
