# Installs deploy/helm/stocktraderx into an existing cluster. The caller
# configures the helm provider (its kubernetes block: the cluster), as a
# module should not. docs/deploy.md, "On a cluster", says what to prepare
# first (the node, the Secret, the certificate).
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    helm = {
      source  = "hashicorp/helm"
      version = ">= 2.12.0, < 4.0.0"
    }
  }
}
