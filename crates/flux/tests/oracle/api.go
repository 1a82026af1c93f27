package main

import (
	v2 "github.com/fluxcd/helm-controller/api/v2"
)

type postRenderer = v2.PostRenderer
type commonMetadata = v2.CommonMetadata
