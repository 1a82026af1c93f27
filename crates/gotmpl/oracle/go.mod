module helmrelease/gotmpl-oracle

go 1.19
