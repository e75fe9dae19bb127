package logserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/go-logr/logr"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/podspec"
)

// Path is the route the Server serves; LogPath builds one.
const Path = "GET /namespaces/{namespace}/tasks/{name}/log"

// LogPath is the URL path of the logs of Task namespace/name.
func LogPath(namespace, name string) string {
	return "/namespaces/" + namespace + "/tasks/" + name + "/log"
}

// Subresource is what a caller must be allowed to get on the Task: RBAC can grant "tasks/log"
// although the CRD serves no such subresource.
const Subresource = "log"

// Server answers log requests. It holds no state besides its clients.
type Server struct {
	// Kube is the server's own identity: TokenReviews, SubjectAccessReviews, listing Pods and
	// reading their logs.
	Kube kubernetes.Interface
	// Tasks reads Tasks from the API server (get).
	Tasks client.Reader
	// Log records requests (who, which Task, the outcome); never log content.
	Log logr.Logger
}

// Handler returns the HTTP handler of the log route; every other path is 404.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(Path, s.serveLog)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	return mux
}

func (s *Server) serveLog(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ns, name := r.PathValue("namespace"), r.PathValue("name")
	gr := schema.GroupResource{Group: v1alpha1.GroupVersion.Group, Resource: "tasks"}
	if len(validation.IsDNS1123Label(ns)) > 0 || len(validation.IsDNS1123Subdomain(name)) > 0 {
		writeStatus(w, apierrors.NewBadRequest("namespace must be a DNS label and name a DNS subdomain"))
		return
	}
	opts, err := logOptions(r)
	if err != nil {
		writeStatus(w, apierrors.NewBadRequest(err.Error()))
		return
	}
	user, err := s.authenticate(ctx, r)
	if err != nil {
		writeStatus(w, err)
		return
	}
	log := s.Log.WithValues("user", user.Username, "task", ns+"/"+name)
	if err := s.authorize(ctx, user, ns, name); err != nil {
		log.Info("log request refused", "reason", err.Error())
		writeStatus(w, err)
		return
	}
	task := &v1alpha1.Task{}
	if err := s.Tasks.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, task); err != nil {
		if apierrors.IsNotFound(err) {
			writeStatus(w, apierrors.NewNotFound(gr, name))
			return
		}
		log.Error(err, "reading the Task")
		writeStatus(w, apierrors.NewInternalError(errors.New("reading the Task failed")))
		return
	}
	pod, err := s.findPod(ctx, task)
	if err != nil {
		writeStatus(w, err)
		return
	}
	stream, err := s.Kube.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, opts).Stream(ctx)
	if err != nil {
		var st apierrors.APIStatus
		if errors.As(err, &st) {
			// The API server's or kubelet's words (container not started, node unreachable).
			writeStatus(w, err)
			return
		}
		log.Error(err, "opening the log stream")
		writeStatus(w, apierrors.NewInternalError(errors.New("opening the log stream failed")))
		return
	}
	defer stream.Close()
	log.Info("streaming logs", "pod", pod.Namespace+"/"+pod.Name, "follow", opts.Follow)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(flushWriter{w}, stream)
}

// authenticate asks the API server who the bearer token belongs to.
func (s *Server) authenticate(ctx context.Context, r *http.Request) (authnv1.UserInfo, error) {
	const prefix = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(prefix) || h[:len(prefix)] != prefix {
		return authnv1.UserInfo{}, apierrors.NewUnauthorized("a bearer token is required")
	}
	tr, err := s.Kube.AuthenticationV1().TokenReviews().Create(ctx, &authnv1.TokenReview{
		Spec: authnv1.TokenReviewSpec{Token: h[len(prefix):]},
	}, metav1.CreateOptions{})
	if err != nil {
		s.Log.Error(err, "TokenReview")
		return authnv1.UserInfo{}, apierrors.NewInternalError(errors.New("the token could not be checked"))
	}
	if !tr.Status.Authenticated {
		return authnv1.UserInfo{}, apierrors.NewUnauthorized("the API server did not accept the token")
	}
	return tr.Status.User, nil
}

// authorize asks the API server whether user may get tasks/log on the Task.
func (s *Server) authorize(ctx context.Context, user authnv1.UserInfo, ns, name string) error {
	extra := make(map[string]authzv1.ExtraValue, len(user.Extra))
	for k, v := range user.Extra {
		extra[k] = authzv1.ExtraValue(v)
	}
	sar, err := s.Kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{
		Spec: authzv1.SubjectAccessReviewSpec{
			User: user.Username, UID: user.UID, Groups: user.Groups, Extra: extra,
			ResourceAttributes: &authzv1.ResourceAttributes{
				Namespace: ns, Verb: "get", Group: v1alpha1.GroupVersion.Group,
				Resource: "tasks", Subresource: Subresource, Name: name,
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		s.Log.Error(err, "SubjectAccessReview")
		return apierrors.NewInternalError(errors.New("the request could not be authorized"))
	}
	if !sar.Status.Allowed || sar.Status.Denied {
		// Worded as the API server words its own RBAC refusals.
		forbidden := apierrors.NewForbidden(schema.GroupResource{Group: v1alpha1.GroupVersion.Group, Resource: "tasks/" + Subresource}, name, nil)
		forbidden.ErrStatus.Message = fmt.Sprintf(`tasks/%s.%s %q is forbidden: User %q cannot get resource "tasks/%s" in API group %q in the namespace %q`,
			Subresource, v1alpha1.GroupVersion.Group, name, user.Username, Subresource, v1alpha1.GroupVersion.Group, ns)
		return forbidden
	}
	return nil
}

// findPod returns the Task's Pod: in the namespace computed from spec.agentRef, carrying the
// Task's UID label, under the name derived from the Task. Never from status.
func (s *Server) findPod(ctx context.Context, task *v1alpha1.Task) (*corev1.Pod, error) {
	ns := task.Spec.AgentRef.Namespace
	if ns == "" {
		ns = task.Namespace
	}
	sel := labels.SelectorFromSet(labels.Set{v1alpha1.ManagedByLabel: v1alpha1.ManagedByValue, v1alpha1.TaskUIDLabel: string(task.UID)})
	pods, err := s.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if apierrors.IsForbidden(err) {
		// Not an Agent namespace this server was bound in (rbac/kubeopencode.LogReaderObjects).
		return nil, &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusNotFound,
			Reason: metav1.StatusReasonNotFound, Message: fmt.Sprintf("the log server does not serve Agent namespace %s (ask the platform team to bind its role there)", ns)}}
	}
	if err != nil {
		s.Log.Error(err, "listing Pods", "namespace", ns)
		return nil, apierrors.NewInternalError(errors.New("looking for the Task's Pod failed"))
	}
	want := podspec.DNSLabel(task.Name, string(task.UID))
	for i := range pods.Items {
		if p := &pods.Items[i]; p.Name == want {
			return p, nil
		}
	}
	return nil, &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusNotFound,
		Reason: metav1.StatusReasonNotFound, Message: fmt.Sprintf("Task %s/%s has no agent Pod: not started yet, or deleted", task.Namespace, task.Name)}}
}

// logOptions reads follow, tailLines and limitBytes; the container is always the agent's.
func logOptions(r *http.Request) (*corev1.PodLogOptions, error) {
	q := r.URL.Query()
	o := &corev1.PodLogOptions{Container: podspec.AgentContainerName}
	if v := q.Get("follow"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("follow: %w", err)
		}
		o.Follow = b
	}
	for key, dst := range map[string]**int64{"tailLines": &o.TailLines, "limitBytes": &o.LimitBytes} {
		if v := q.Get(key); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%s must be a non-negative integer", key)
			}
			*dst = &n
		}
	}
	return o, nil
}

// writeStatus writes err as a Kubernetes Status (a plain 500 for other errors).
func writeStatus(w http.ResponseWriter, err error) {
	st := apierrors.NewInternalError(err).ErrStatus
	var as apierrors.APIStatus
	if errors.As(err, &as) {
		st = as.Status()
	}
	st.Kind, st.APIVersion = "Status", "v1"
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	code := int(st.Code)
	if code == 0 {
		code = http.StatusInternalServerError
	}
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(st)
}

// flushWriter flushes after every write, so a followed log reaches the client as it is written.
type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}
