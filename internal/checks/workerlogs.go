package checks

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
	"github.com/paasdiag/paasdiag/internal/check"
	"github.com/paasdiag/paasdiag/internal/errorcodes"
)

const (
	// maxWorkerPods bounds how many pods one evaluation reads.
	maxWorkerPods = 20
	// maxQuotedLine bounds the log line a finding quotes.
	maxQuotedLine = 300
	// maxLogLine is the longest line scanned; longer ones are cut.
	maxLogLine = 256 << 10
	// defaultLogWindow and defaultLogLimitBytes apply when the spec leaves them zero
	// (the CRD's defaults, for clients that send zero values).
	defaultLogWindow     = 10 * time.Minute
	defaultLogLimitBytes = 1 << 20
)

// LogStreamer opens a pod's logs. The manager's implementation goes through the API
// server's pods/log subresource.
type LogStreamer interface {
	StreamLogs(ctx context.Context, namespace, pod string, opts *corev1.PodLogOptions) (io.ReadCloser, error)
}

// +kubebuilder:rbac:groups="",resources=pods,verbs=list
// +kubebuilder:rbac:groups="",resources=pods/log,verbs=get
// The worker Deployment, by the name workerLogs.deployment gives, for its pod selector.
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get

// WorkerLogs is step 3 of the 4313021 procedure: a 403 Forbidden in the
// bkpaas3-apiserver-worker logs means the cluster credentials are wrong or lack
// permission.
type WorkerLogs struct {
	// reader lists the worker pods, uncached: paasdiag does not keep every Pod in memory.
	reader client.Reader
	// logs opens their logs.
	logs      LogStreamer
	namespace string
	cfg       v1alpha1.WorkerLogsCheck
	// builtin are the default patterns the spec holds (their lines may be quoted),
	// custom the author's own (counts only, and only while allowed: custompatterns.go).
	builtin, custom []*regexp.Regexp
	selector        labels.Selector
	in              *inputs
	// created is when the diagnosis was created, nil if unknown.
	created *time.Time
}

var _ check.Checker = (*WorkerLogs)(nil)

const workerLogsName = "worker-logs"

// newWorkerLogs builds the check from its spec section: every pattern must compile and
// the selector must be valid, which the CRD cannot express.
func newWorkerLogs(cfg *v1alpha1.WorkerLogsCheck, namespace string, deps Dependencies, in *inputs, created *time.Time) (*WorkerLogs, error) {
	patterns, err := compilePatterns(cfg.Patterns)
	if err != nil {
		return nil, err
	}
	var builtin, custom []*regexp.Regexp
	for i, re := range patterns {
		if isBuiltinPattern(cfg.Patterns[i]) {
			builtin = append(builtin, re)
		} else {
			custom = append(custom, re)
		}
	}
	selector := labels.Nothing()
	if cfg.PodSelector != nil {
		if selector, err = metav1.LabelSelectorAsSelector(cfg.PodSelector); err != nil {
			return nil, fmt.Errorf("workerLogs.podSelector is not valid: %v", err)
		}
	}
	return &WorkerLogs{reader: deps.Reader, logs: deps.Logs, namespace: namespace, cfg: *cfg, builtin: builtin, custom: custom,
		selector: selector, in: in, created: created}, nil
}

// Name implements check.Checker.
func (*WorkerLogs) Name() string { return workerLogsName }

// Condition implements check.Checker.
func (*WorkerLogs) Condition() string { return v1alpha1.ConditionWorkerLogsClean }

func compilePatterns(patterns []string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, 0, len(patterns))
	for i, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("workerLogs.patterns[%d] is not a valid RE2 regular expression: %v", i, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// Check implements check.Checker.
func (c *WorkerLogs) Check(ctx context.Context) check.Result {
	code := errorcodes.Must(errorcodes.CannotGetClusterInfo)
	cfg, selector := &c.cfg, c.selector
	selectedBy := "workerLogs.podSelector " + selector.String()
	if cfg.Deployment != "" {
		// The worker Deployment's own selector, read now: the chart may change it.
		var d appsv1.Deployment
		if err := c.reader.Get(ctx, types.NamespacedName{Namespace: c.namespace, Name: cfg.Deployment}, &d); err != nil {
			if apierrors.IsNotFound(err) {
				return unknownResult("worker-logs", v1alpha1.ReasonNoWorkerPods, fmt.Sprintf("workerLogs.deployment: Deployment %q not found in namespace %s", cfg.Deployment, c.namespace))
			}
			return unknownResult("worker-logs", v1alpha1.ReasonLogsUnreadable, fmt.Sprintf("workerLogs.deployment: Deployment %q cannot be read: %v", cfg.Deployment, err))
		}
		s, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || d.Spec.Selector == nil || s.Empty() {
			return unknownResult("worker-logs", v1alpha1.ReasonNoWorkerPods, fmt.Sprintf("workerLogs.deployment: Deployment %q has no usable pod selector", cfg.Deployment))
		}
		selector, selectedBy = s, fmt.Sprintf("Deployment %s's selector %s", cfg.Deployment, s)
	}
	var pods corev1.PodList
	if err := c.reader.List(ctx, &pods, client.InNamespace(c.namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return unknownResult("worker-logs", v1alpha1.ReasonLogsUnreadable, fmt.Sprintf("the worker pods (%s) cannot be listed: %v", selector, err))
	}
	if len(pods.Items) == 0 {
		return unknownResult("worker-logs", v1alpha1.ReasonNoWorkerPods, fmt.Sprintf("no pod in namespace %s matches %s", c.namespace, selectedBy))
	}
	sort.Slice(pods.Items, func(i, j int) bool { return pods.Items[i].Name < pods.Items[j].Name })
	if len(pods.Items) > maxWorkerPods {
		pods.Items = pods.Items[:maxWorkerPods]
	}

	window := cfg.Window.Duration
	if window < time.Second {
		window = defaultLogWindow
	}
	since := int64(window.Seconds())
	limit := cfg.LimitBytes
	if limit <= 0 {
		limit = defaultLogLimitBytes
	}
	redact := redactor(c.in.secretData)
	res := check.Result{Status: check.Pass, Reason: v1alpha1.ReasonSucceeded}
	custom := c.custom
	if len(custom) > 0 {
		if ok, why := customPatternsAllowed(ctx, c.reader, c.created); !ok {
			custom = nil
			res.Findings = append(res.Findings, check.WarningFinding("worker-logs/patterns", v1alpha1.ReasonCustomPatternsIgnored, "", fmt.Sprintf(
				"%d custom pattern(s) of workerLogs.patterns are ignored, the default ones still run: %s (custom patterns read logs with paasdiag's rights; docs/security.md)",
				len(c.custom), why)))
		}
	}
	var dirty []string
	// The pods' logs are read in parallel, under the check's deadline.
	type scanned struct {
		logScan
		err error
	}
	scans := make([]scanned, len(pods.Items))
	parallel(len(pods.Items), maxParallel, func(i int) {
		opts := &corev1.PodLogOptions{Container: cfg.Container, SinceSeconds: &since, LimitBytes: &limit}
		s := &scans[i]
		s.logScan, s.err = c.scan(ctx, pods.Items[i].Name, opts, custom)
	})
	elsewhere := 0
	for i, pod := range pods.Items {
		name := "pod/" + pod.Name
		sc, err := scans[i].logScan, scans[i].err
		if err != nil {
			res.Findings = append(res.Findings, check.UnknownFinding(name, v1alpha1.ReasonLogsUnreadable,
				fmt.Sprintf("the logs of pod %s cannot be read: %s", pod.Name, redact(err.Error()))))
			continue
		}
		if sc.onPath > 0 {
			dirty = append(dirty, pod.Name)
			res.Findings = append(res.Findings, check.ErrorFinding(name, v1alpha1.ReasonForbiddenInWorkerLogs, code.Number,
				code.Message(fmt.Sprintf("pod %s logged %d matching line(s) in the last %s while getting an app cluster's egress info%s: check the cluster certificate or token (step 1)",
					pod.Name, sc.onPath, window, example(sc.onPathSample, redact)))))
		}
		if sc.elsewhere > 0 {
			elsewhere++
			res.Findings = append(res.Findings, check.WarningFinding(name, v1alpha1.ReasonForbiddenInWorkerLogs, code.Number,
				code.Related(fmt.Sprintf("pod %s logged %d matching line(s) in the last %s outside the platform's 4313021 path (no %q in the same log record)%s; a 403 from an app cluster fails deploys where the platform creates namespaces and workloads: check the cluster's token or certificate and its cluster-admin binding (step 1)",
					pod.Name, sc.elsewhere, window, "Can not get app cluster egress info", example(sc.elsewhereSample, redact)))))
		}
	}
	pass := fmt.Sprintf("no line of %d worker pod(s) in the last %s matches a 4313021 pattern", len(pods.Items), window)
	if elsewhere > 0 {
		pass = fmt.Sprintf("no line of %d worker pod(s) in the last %s matches a 4313021 pattern while getting an app cluster's egress info; %d pod(s) logged matching lines elsewhere (warnings)",
			len(pods.Items), window, elsewhere)
	}
	res.Conclude(check.Verdict{
		Fail: code.Message(fmt.Sprintf("%d of %d worker pod(s) logged 4313021 errors in the last %s: %s", len(dirty), len(pods.Items), window, firstFew(dirty))),
		Pass: pass,
	})
	return res
}

// scan reads a pod's logs, bounded by the options' limit, and counts the lines that
// match any pattern, on and off the 4313021 path.
func (c *WorkerLogs) scan(ctx context.Context, pod string, opts *corev1.PodLogOptions, custom []*regexp.Regexp) (logScan, error) {
	stream, err := c.logs.StreamLogs(ctx, c.namespace, pod, opts)
	if err != nil {
		return logScan{}, err
	}
	defer func() { _ = stream.Close() }()
	var r io.Reader = stream
	if opts.LimitBytes != nil {
		// The API server honours limitBytes; bound the read here too.
		r = io.LimitReader(stream, *opts.LimitBytes)
	}
	return matchLines(r, c.builtin, custom)
}

// logScan is what one pod's logs hold: matching lines in a log record of the
// platform's 4313021 path, and elsewhere, with the first of each.
type logScan struct {
	onPath, elsewhere             int
	onPathSample, elsewhereSample string
}

// A 403 is the platform's 4313021 only on its egress path: it logs the failure with
// logger.exception("Can not get app cluster egress info") and the traceback after it,
// then "Error provisioning new instance" with GetClusterEgressInfoError
// (servicehub/remote/manager.py; docs/conformance.md WL04). A 403 in any other record
// (creating a namespace or a workload) breaks deploys without that code.
var (
	egressPathMarker = regexp.MustCompile(`Can not get app cluster egress info|GetClusterEgressInfoError`)
	// recordStart is the first line of a log record in the platform's formats: text
	// ("%(levelname)s [%(asctime)s] ..."), JSON (one record a line) or a line that
	// starts with a date; traceback lines start otherwise.
	recordStart = regexp.MustCompile(`^(?:\{|(?:DEBUG|INFO|WARNING|ERROR|CRITICAL)\b|\[?\d{4}-\d{2}-\d{2})`)
)

// matchLines counts the lines of r that match any pattern, by whether their log record
// is on the 4313021 path. Only a line a builtin pattern matches is kept as a sample: a
// custom pattern's lines are counted, never quoted. A line longer than maxLogLine is
// judged by its beginning and the rest skipped.
func matchLines(r io.Reader, builtin, custom []*regexp.Regexp) (logScan, error) {
	br := bufio.NewReaderSize(r, maxLogLine)
	var out logScan
	pending, sample, marked := 0, "", false // the current record
	flush := func() {
		switch {
		case pending == 0:
		case marked:
			if out.onPathSample == "" {
				out.onPathSample = sample
			}
			out.onPath += pending
		default:
			if out.elsewhereSample == "" {
				out.elsewhereSample = sample
			}
			out.elsewhere += pending
		}
		pending, sample, marked = 0, "", false
	}
	judge := func(line []byte) {
		line = bytes.TrimRight(line, "\r\n")
		if recordStart.Match(line) {
			flush()
		}
		if egressPathMarker.Match(line) {
			marked = true
		}
		for _, re := range builtin {
			if re.Match(line) {
				if sample == "" {
					sample = string(line)
				}
				pending++
				return
			}
		}
		for _, re := range custom {
			if re.Match(line) {
				pending++
				return
			}
		}
	}
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			judge(line)
		}
		for err == bufio.ErrBufferFull { // the rest of an overlong line
			_, err = br.ReadSlice('\n')
		}
		switch {
		case err == io.EOF:
			flush()
			return out, nil
		case err != nil:
			flush()
			return out, err
		}
	}
}

// example quotes a sample line, redacted; the lines of custom patterns have none.
func example(sample string, redact func(string) string) string {
	if sample == "" {
		return " (matched by custom patterns: their lines are never quoted)"
	}
	return fmt.Sprintf(", e.g. %q", quote(redact(sample)))
}

// redactor removes every secret value paasdiag holds, and anything that looks like a
// credential, from text quoted in status.
func redactor(secretValues [][]byte) func(string) string {
	var values []string
	for _, v := range secretValues {
		if s := strings.TrimSpace(string(v)); len(s) >= 6 {
			values = append(values, s)
		}
	}
	// Longest first, so that a value containing another is removed whole.
	sort.Slice(values, func(i, j int) bool { return len(values[i]) > len(values[j]) })
	return func(s string) string {
		for _, v := range values {
			s = strings.ReplaceAll(s, v, "[REDACTED]")
		}
		return credentialLike.ReplaceAllString(s, "${1}[REDACTED]")
	}
}

// credentialLike matches bearer tokens, authorization headers and key=value
// credentials in log lines; the first group (the label) is kept.
var credentialLike = regexp.MustCompile(`(?i)((?:authorization["']?\s*[:=]\s*["']?)?(?:bearer|basic)\s+|authorization["']?\s*[:=]\s*["']?|(?:password|passwd|pwd|token|secret|api[_-]?key)["']?\s*[:=]\s*["']?)[^\s"',;)}]+`)

// quote truncates a log line for a finding.
func quote(line string) string {
	line = strings.TrimSpace(line)
	if len(line) <= maxQuotedLine {
		return line
	}
	cut := maxQuotedLine
	for cut > 0 && line[cut]&0xC0 == 0x80 {
		cut--
	}
	return line[:cut] + "..."
}

func unknownResult(name, reason, message string) check.Result {
	return check.Only(check.UnknownFinding(name, reason, message))
}
