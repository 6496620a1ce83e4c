variable "release_name" {
  description = "The Helm release's name."
  type        = string
  default     = "stx"
}

variable "namespace" {
  description = "The namespace of the release."
  type        = string
  default     = "exchange"
}

variable "create_namespace" {
  description = "Whether the release creates its namespace."
  type        = bool
  default     = true
}

variable "values_files" {
  description = "Values files, in order (e.g. the chart's values-production.yaml, then your own)."
  type        = list(string)
  default     = []
}

variable "values" {
  description = "Values applied last, over the files (image tags, say)."
  type        = any
  default     = {}
}

variable "timeout_seconds" {
  description = "How long to wait for the release's pods to be ready: the core replays its journal at start."
  type        = number
  default     = 900
}
