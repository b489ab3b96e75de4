// Module that builds openapi-gen at the version k8s.io/kubernetes of the compatibility
// control plane pins (hack/envtest/kube-apiserver-compat), to generate its OpenAPI definitions.
module github.com/paasdiag/paasdiag/hack/envtest/openapi-gen

go 1.20

require k8s.io/kube-openapi v0.0.0-20211110013926-83f114cd0513

require (
	github.com/PuerkitoBio/purell v1.1.1 // indirect
	github.com/PuerkitoBio/urlesc v0.0.0-20170810143723-de5bf2ad4578 // indirect
	github.com/emicklei/go-restful v0.0.0-20170410110728-ff4f55a20633 // indirect
	github.com/go-logr/logr v0.1.0 // indirect
	github.com/go-openapi/jsonpointer v0.19.3 // indirect
	github.com/go-openapi/jsonreference v0.19.3 // indirect
	github.com/go-openapi/spec v0.19.3 // indirect
	github.com/go-openapi/swag v0.19.5 // indirect
	github.com/mailru/easyjson v0.0.0-20190626092158-b2ccc519800e // indirect
	github.com/spf13/pflag v0.0.0-20170130214245-9ff6c6923cff // indirect
	golang.org/x/net v0.0.0-20200324143707-d3edc9973b7e // indirect
	golang.org/x/text v0.3.2 // indirect
	golang.org/x/tools v0.0.0-20190614205625-5aca471b1d59 // indirect
	gopkg.in/yaml.v2 v2.2.8 // indirect
	k8s.io/gengo v0.0.0-20200413195148-3a45101e95ac // indirect
	k8s.io/klog/v2 v2.0.0 // indirect
)
