// Package appcluster runs an app cluster for tests: a second envtest control plane
// (a real kube-apiserver and etcd) with users the way a bkpaas3 installation may have
// them: client certificates and ServiceAccount tokens, bound to cluster-admin, to less,
// or to nothing. It is used by tests only.
package appcluster

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/paasdiag/paasdiag/internal/testsupport/netfault"
)

// Cluster is a running app cluster.
type Cluster struct {
	env *envtest.Environment
	// Admin is a rest.Config of an administrator (system:masters).
	Admin *rest.Config
	// Client is a clientset for Admin.
	Client kubernetes.Interface
	// URL is the API server's https URL.
	URL string
	// CA is the PEM CA that signs the serving certificate.
	CA []byte
}

// Start starts an app cluster; KUBEBUILDER_ASSETS must point at kube-apiserver and etcd.
func Start() (*Cluster, error) {
	env := &envtest.Environment{}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting the app cluster (is KUBEBUILDER_ASSETS set? run make test): %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Cluster{env: env, Admin: cfg, Client: cs, URL: cfg.Host, CA: cfg.CAData}, nil
}

// Stop stops the app cluster.
func (c *Cluster) Stop() error { return c.env.Stop() }

// CertUser creates a user authenticated by a client certificate signed by the
// cluster's CA, bound to the given ClusterRoles, and returns its PEM certificate and
// key. The certificate is valid for a week (envtest's choice).
func (c *Cluster) CertUser(name string, clusterRoles ...string) (cert, key []byte, err error) {
	u, err := c.env.ControlPlane.AddUser(envtest.User{Name: name}, c.Admin)
	if err != nil {
		return nil, nil, err
	}
	cfg := u.Config()
	if err := c.bind(rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}, name, clusterRoles); err != nil {
		return nil, nil, err
	}
	return cfg.CertData, cfg.KeyData, nil
}

// TokenUser creates a ServiceAccount in kube-system (the platform's token_type 1),
// bound to the given ClusterRoles, and returns a token for it.
func (c *Cluster) TokenUser(name string, clusterRoles ...string) (string, error) {
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: name}}
	if _, err := c.Client.CoreV1().ServiceAccounts("kube-system").Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		return "", err
	}
	if err := c.bind(rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: "kube-system", Name: name}, "sa-"+name, clusterRoles); err != nil {
		return "", err
	}
	expiry := int64(24 * 3600)
	tr, err := c.Client.CoreV1().ServiceAccounts("kube-system").CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return tr.Status.Token, nil
}

// ClusterRole creates a ClusterRole allowing the verbs on the core resources.
func (c *Cluster) ClusterRole(name string, verbs []string, resources ...string) error {
	_, err := c.Client.RbacV1().ClusterRoles().Create(context.Background(), &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: resources, Verbs: verbs}},
	}, metav1.CreateOptions{})
	return err
}

// Unbind removes every ClusterRoleBinding bind created for a user or ServiceAccount.
func (c *Cluster) Unbind(name string) error {
	ctx := context.Background()
	list, err := c.Client.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{LabelSelector: "paasdiag-test/subject=" + name})
	if err != nil {
		return err
	}
	for _, b := range list.Items {
		if err := c.Client.RbacV1().ClusterRoleBindings().Delete(ctx, b.Name, metav1.DeleteOptions{}); err != nil {
			return err
		}
	}
	return nil
}

// Bind binds an existing user or ServiceAccount (by the name given to CertUser or
// TokenUser) to more ClusterRoles.
func (c *Cluster) Bind(name string, serviceAccount bool, clusterRoles ...string) error {
	subject := rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
	label := name
	if serviceAccount {
		subject = rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: "kube-system", Name: name}
		label = "sa-" + name
	}
	return c.bind(subject, label, clusterRoles)
}

func (c *Cluster) bind(subject rbacv1.Subject, label string, clusterRoles []string) error {
	for _, role := range clusterRoles {
		_, err := c.Client.RbacV1().ClusterRoleBindings().Create(context.Background(), &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: label + "-" + role, Labels: map[string]string{"paasdiag-test/subject": label}},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{subject},
		}, metav1.CreateOptions{})
		if err != nil {
			return err
		}
	}
	return nil
}

// Node creates a Node with the given labels.
func (c *Cluster) Node(name string, labels map[string]string) error {
	_, err := c.Client.CoreV1().Nodes().Create(context.Background(), &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
	}, metav1.CreateOptions{})
	return err
}

// SelfSignedCA makes a CA that signs nothing the cluster trusts, and a client
// certificate and key from it valid from notBefore to notAfter, all PEM.
func SelfSignedCA(notBefore, notAfter time.Time) (ca, cert, key []byte, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "paasdiag-test-ca"},
		NotBefore: notBefore, NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "paasdiag-test-user"},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(leafKey)
	if err != nil {
		return nil, nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// SilentListener accepts connections and never answers, like a hung API server. It
// returns the https URL and a function that closes it.
func SilentListener() (string, func(), error) {
	addr, stop, err := netfault.SilentListener()
	return "https://" + addr, stop, err
}

// ClosedPort returns an https URL on which nothing listens.
func ClosedPort() (string, error) {
	addr, err := netfault.ClosedAddr()
	return "https://" + addr, err
}
