// Package errorcodes is the catalog of bkpaas3's numbered error codes, as the platform's
// documentation lists them (paasng/utils/error_codes.py). It is the only place in
// paasdiag where a code's text is written: findings, conditions, events and the README
// take it from here.
package errorcodes

import (
	"fmt"
	"sort"
)

// Code is one of the platform's numbered error codes.
type Code struct {
	// Number is the code as the platform prints it, e.g. "4313021".
	Number string
	// Name is the constant's name in the platform's source, where known.
	Name string
	// Chinese is the platform's own description, exactly as its documentation gives it.
	Chinese string
	// English is an English rendering of Chinese.
	English string
	// Remediation is the one-line next step shown with each finding.
	Remediation string
	// Steps is the platform's troubleshooting procedure, rewritten to point at what
	// paasdiag checks; empty where the platform documents none.
	Steps []string
}

// The two codes paasdiag was first written for.
const (
	// CannotGetClusterInfo is 4313021 获取集群信息失败.
	CannotGetClusterInfo = "4313021"
	// ResourcePoolIsEmpty is 4313022 资源池为空.
	ResourcePoolIsEmpty = "4313022"
)

// The codes of the other infrastructure a deploy or an import meets.
const (
	// ObjectStoreException is 4312011 对象存储服务异常.
	ObjectStoreException = "4312011"
	// CannotDestroyService is 4313040 服务删除失败.
	CannotDestroyService = "4313040"
	// FailedToPushImage is 4314004 访问容器镜像仓库异常.
	FailedToPushImage = "4314004"
)

var catalog = []Code{
	{Number: "4311001", Chinese: "查询部署信息失败", English: "Failed to query the deployment"},
	{Number: "4311002", Chinese: "查询部署阶段信息失败", English: "Failed to query the deployment's phases"},
	{
		Number:      "4311003",
		Name:        "CANNOT_DEPLOY_APP",
		Chinese:     "部署失败",
		English:     "Deployment failed",
		Remediation: "Read the detail after the colon: it names the cause (对象存储服务异常 for the blob store, 部署请求异常 otherwise)",
		Steps: []string{
			"The deploy view raises 4311003 for any error while it starts a deployment; with DownloadFailedError the detail is 对象存储服务异常, 请稍后再试 (platform/engine/views/deploy.py).",
			"paasdiag does not predict it: for package-deployed modules the description is read from the package's stored meta_info, so the request itself does not download the package, and a missing package fails the deployment later, in its build step, without a code. Condition BlobStoreAvailable reports such modules (PackageObjectMissing).",
		},
	},
	{Number: "4311004", Chinese: "部署失败，已有部署任务进行中，请刷新查看", English: "Deployment failed: another deployment is in progress, refresh to see it"},
	{Number: "4311005", Chinese: "应用尚未在该环境发布过", English: "The application has never been released to this environment"},
	{Number: "4311006", Chinese: "已开启部署权限控制，仅管理员可以操作", English: "Deployment permission control is on: only administrators may deploy"},
	{Number: "4311007", Chinese: "日志流管道不存在", English: "The log stream pipeline does not exist"},
	{Number: "4311008", Chinese: "中止部署失败", English: "Failed to abort the deployment"},
	{Number: "4312001", Chinese: "仓库绑定失败", English: "Failed to bind the repository"},
	{Number: "4312002", Chinese: "无法获取源码信息", English: "Cannot get the source code information"},
	{Number: "4312003", Chinese: "尚未绑定 OAUTH 授权信息", English: "No OAuth authorization is bound yet"},
	{Number: "4312004", Chinese: "无法获取代码版本", English: "Cannot get the code version"},
	{Number: "4312005", Chinese: "无法切换源码仓库类型", English: "Cannot switch the source repository type"},
	{Number: "4312006", Chinese: "无法创建 Svn tag", English: "Cannot create the SVN tag"},
	{Number: "4312007", Chinese: "未支持的源码类型", English: "Unsupported source code type"},
	{Number: "4312008", Chinese: "未支持的源码来源", English: "Unsupported source code origin"},
	{Number: "4312009", Chinese: "源码包已存在", English: "The source package already exists"},
	{Number: "4312010", Chinese: "缺失版本信息", English: "Version information is missing"},
	{
		Number:      ObjectStoreException,
		Name:        "OBJECT_STORE_EXCEPTION",
		Chinese:     "对象存储服务异常",
		English:     "The object storage service is failing",
		Remediation: "Fix the blob store the platform's BLOBSTORE_* settings name (address, credentials, bucket), then retry the upload",
		Steps: []string{
			"Blob store (condition BlobStoreAvailable): the S-mart upload and source package views raise 4312011 when an upload (or an S-mart package's download) fails. The settings are BLOBSTORE_TYPE, BLOBSTORE_BKREPO_CONFIG (ENDPOINT, PROJECT, USERNAME, PASSWORD) or BLOBSTORE_S3_ENDPOINT, _ACCESS_KEY, _SECRET_KEY, _REGION_NAME, and the bucket BLOBSTORE_BUCKET_AP_PACKAGES; paasdiag names the call that fails.",
			"The views raise it inside their exception handler, so the browser gets an HTTP 500 and the code is in the apiserver's log (Failed to ... OBJECT_STORE_EXCEPTION), not in the response.",
			"A bkrepo bucket is a GENERIC repository of the project (created by the platform's init_bkrepo command); an S3 bucket must exist and allow the access key to read and write.",
		},
	},
	{Number: "4313001", Chinese: "绑定运行时失败", English: "Failed to bind the runtime"},
	{Number: "4313010", Chinese: "增强服务绑定失败", English: "Failed to bind the add-on service"},
	{Number: "4313020", Chinese: "配置资源实例失败", English: "Failed to provision the resource instance"},
	{
		Number:      CannotGetClusterInfo,
		Name:        "CANNOT_GET_CLUSTER_INFO",
		Chinese:     "获取集群信息失败",
		English:     "Cannot get the app cluster's information",
		Remediation: "Fix the app cluster's API servers, certificate or token (with cluster-admin) in the admin console, then restart the apiserver processes",
		Steps: []string{
			"Credentials (condition ClusterReachable): in the admin console ({PaaS3.0 developer center}/backend/admin42/platform/clusters/manage/) check every API server address, the certificates or token of the app cluster, and that this identity is bound to cluster-admin: the platform creates and deletes namespaces and applications (Deployment, Service, Ingress) there. On platform 1.6 and earlier restart every apiserver process after a change.",
			"Initial cluster state (condition InitialClusterStateReady): the Helm hook Job bkpaas3-apiserver-generate-initial-cluster-state of the bkpaas3 release must have succeeded and labelled the app cluster's nodes; if not, run helm upgrade to run it again.",
			"Worker logs (condition WorkerLogsClean): a 403 Forbidden in the bkpaas3-apiserver-worker logs means the certificate or token of step 1 is wrong or lacks permission.",
		},
	},
	{
		Number:      ResourcePoolIsEmpty,
		Name:        "RESOURCE_POOL_IS_EMPTY",
		Chinese:     "资源池为空",
		English:     "The resource pool is empty",
		Remediation: "Add pre-created instances to the plan's pool in the admin console",
		Steps: []string{
			"Pool (condition InstancePoolAvailable): in the admin console ({PaaS3.0 developer center}/backend/admin42/platform/pre-created-instances/manage) check that the add-on service plan's pool has an available instance; paasdiag names each empty plan.",
			"If the pool has no available instance, add instances for that plan.",
		},
	},
	{
		Number:      CannotDestroyService,
		Name:        "CANNOT_DESTROY_SERVICE",
		Chinese:     "服务删除失败",
		English:     "Failed to delete the service",
		Remediation: "Make the remote service provider answer the platform (endpoint_url, JWT key), then unbind again",
		Steps: []string{
			"Remote providers (condition RemoteServicesAvailable): unbinding a remote add-on service asks its provider to delete the instance; when the provider does not answer or refuses, the unbind view raises 4313040 (服务删除失败: unable to delete instance).",
			"The providers are SERVICE_REMOTE_ENDPOINTS, or ONE_SIMPLE_JWT_AUTH_KEY with the RSVC_BUNDLE_*_ENDPOINT_URL settings; the platform signs an HS256 JWT (iss paas-v3 by default) with the key, which the provider must know.",
			"The same provider failing makes a deploy that provisions one of its services fail in step 配置资源实例 with 配置资源实例异常 and no code.",
		},
	},
	{Number: "4313050", Chinese: "共享增强服务失败", English: "Failed to share the add-on service"},
	{Number: "4313081", Chinese: "CI 相关资源删除失败", English: "Failed to delete the CI resources"},
	{Number: "4313082", Name: "CANNOT_READ_INSTANCE_INFO", Chinese: "读取增强服务实例信息失败", English: "Failed to read the add-on service instance's information"},
	{Number: "4314001", Chinese: "没找到任何待创建的 S-mart 应用包", English: "No S-mart application package to create was found"},
	{Number: "4314002", Chinese: "缺失应用描述文件", English: "The application description file is missing"},
	{Number: "4314003", Chinese: "分析应用描述文件异常", English: "Failed to parse the application description file"},
	{
		Number:      FailedToPushImage,
		Name:        "FAILED_TO_PUSH_IMAGE",
		Chinese:     "访问容器镜像仓库异常",
		English:     "Failed to access the container image registry",
		Remediation: "Fix the S-mart registry account (SMART_DOCKER_USERNAME / SMART_DOCKER_PASSWORD) or the registry's token service, then import again",
		Steps: []string{
			"S-mart registry (condition SmartRegistryAvailable): the S-mart import raises 4314004 when the registry's token server refuses the platform's account or the registry answers an unexpected error status. The settings are SMART_DOCKER_REGISTRY_ADDR, SMART_DOCKER_NAMESPACE, SMART_DOCKER_USERNAME and SMART_DOCKER_PASSWORD.",
			"A token granted without push, a 403, a missing base image or an unreachable registry do not give 4314004: the import fails with an HTTP 500. paasdiag reports those without a code.",
			"The base images (1.6: <namespace>/slug-pilot and run-heroku-bionic with -smart tags; 1.7+: <namespace>/slug-app and the SMART_CNB_IMAGE_CONF images) are pushed by the platform's push_smart_image command.",
		},
	},
}

var byNumber = func() map[string]Code {
	m := make(map[string]Code, len(catalog))
	for _, c := range catalog {
		m[c.Number] = c
	}
	return m
}()

// All returns every code, in ascending order.
func All() []Code {
	out := append([]Code(nil), catalog...)
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

// Lookup returns the code with this number.
func Lookup(number string) (Code, bool) {
	c, ok := byNumber[number]
	return c, ok
}

// Must returns the code with this number and panics if there is none: for the codes
// paasdiag itself names, where a miss is a programming error.
func Must(number string) Code {
	c, ok := Lookup(number)
	if !ok {
		panic(fmt.Sprintf("errorcodes: no code %q in the catalog", number))
	}
	return c
}

// Title is the code and its Chinese text as the platform shows them, e.g.
// "[4313021] 获取集群信息失败".
func (c Code) Title() string {
	return "[" + c.Number + "] " + c.Chinese
}

// Message renders a finding's message: the title followed by what was found.
func (c Code) Message(detail string) string {
	if detail == "" {
		return c.Title()
	}
	return c.Title() + ": " + detail
}

// Related renders a warning's message about a cause the code's troubleshooting
// procedure names, but which breaks deploys in other ways than the code: the code is
// not raised for it, e.g. "[4313021] 获取集群信息失败 (a cause its procedure names; not
// raised for it): ...".
func (c Code) Related(detail string) string {
	return c.Title() + " (a cause its procedure names; not raised for it): " + detail
}

// Predicted renders a warning's message: a failure with this code that has not
// happened yet but will, e.g. "[4313022] 资源池为空 (predicted): plan redis/0shared has 1
// available instance".
func (c Code) Predicted(detail string) string {
	return c.Title() + " (predicted): " + detail
}
