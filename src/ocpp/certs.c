/* Certificates of the session (1.6 security extension, 2.0.1 blocks A
 * and M): the client certificate of security profile 3 renewed through
 * the backend (SignCertificate with a key and CSR made here, then
 * CertificateSigned), and the root certificates the backend installs,
 * lists and deletes (InstallCertificate, GetInstalledCertificateIds,
 * DeleteCertificate).
 *
 * Files, in the certificate directory (settings.cert_dir), all mode 0600
 * and replaced atomically:
 *   client-pending.key   the key of the CSR sent, until its certificate
 *   client.pem           the certificate chain the backend signed, then
 *                        the key: what profile 3 connects with
 *   csms-<sha256>.pem    a CSMS (1.6 central system) root certificate
 *   manufacturer-<sha256>.pem   a manufacturer root certificate
 *   trust.pem            the CA bundle the TLS client verifies the CSMS
 *                        with: the configured one (or OpenSSL's default
 *                        file) and the installed CSMS roots
 * Private keys are never logged. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/atomic-file.h"
#include "common/log.h"
#include "common/util.h"
#include "ocpp/session-private.h"

#define PENDING_KEY "client-pending.key"
#define CLIENT_PEM "client.pem"
#define TRUST_PEM "trust.pem"

/* The kinds of root certificate kept: the file name prefix and the
 * names of both versions. */
static const struct root_kind {
	const char *prefix;
	const char *name16;
	const char *name201;
} root_kinds[] = {
	{ "csms", "CentralSystemRootCertificate", "CSMSRootCertificate" },
	{ "manufacturer", "ManufacturerRootCertificate",
	    "ManufacturerRootCertificate" },
	{ NULL, NULL, NULL },
};

/* path = dir/name into buf; false when it does not fit. */
static bool
cert_path(const char *dir, const char *name, char *buf, size_t len)
{
	return snprintf(buf, len, "%s/%s", dir, name) < (int)len;
}

/* Creates the certificate directory (0700) when it is missing. */
static int
ensure_dir(const char *dir)
{
	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	log_warnx("ocpp: certificate directory %s: %s", dir, strerror(errno));
	return -1;
}

/* Writes text to dir/name atomically, mode 0600.  0 or -1 (said). */
static int
write_secret(const char *dir, const char *name, const char *text, size_t len)
{
	char path[1024];
	char *cause = NULL;

	if (!cert_path(dir, name, path, sizeof(path)) || ensure_dir(dir) != 0)
		return -1;
	if (atomic_write_file(path, text, len, 0600, &cause) != 0) {
		log_warnx("ocpp: %s: %s", path, cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* The text of a memory BIO, NUL-terminated (caller frees), or NULL. */
static char *
bio_text(BIO *b, size_t *len)
{
	char *data, *out;
	long n = BIO_get_mem_data(b, &data);

	if (n < 0 || (out = malloc((size_t)n + 1)) == NULL)
		return NULL;
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	return out;
}

/* Reads every certificate of a PEM text, in order.  The stack is the
 * caller's (sk_X509_pop_free), NULL when there is none. */
static STACK_OF(X509) *
read_chain(const char *pem)
{
	BIO *b = pem != NULL ? BIO_new_mem_buf(pem, -1) : NULL;
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *x;

	if (b == NULL || chain == NULL) {
		BIO_free(b);
		sk_X509_free(chain);
		return NULL;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		if (sk_X509_push(chain, x) == 0) {
			X509_free(x);
			break;
		}
	ERR_clear_error();
	BIO_free(b);
	if (sk_X509_num(chain) == 0) {
		sk_X509_free(chain);
		return NULL;
	}
	return chain;
}

/* Lower-case hex of n bytes into buf (>= 2n + 1). */
static void
hex(const unsigned char *p, size_t n, char *buf)
{
	for (size_t i = 0; i < n; i++)
		snprintf(buf + 2 * i, 3, "%02x", p[i]);
	if (n == 0)
		buf[0] = '\0';
}

/* The CertificateHashDataType of a certificate (SHA256; for a root the
 * issuer's key is its own). */
static json_t *
hash_data(X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int mdlen = 0;
	char name_hash[2 * EVP_MAX_MD_SIZE + 1], key_hash[2 * EVP_MAX_MD_SIZE + 1];
	char serial[41];
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
	BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
	char *bnhex = bn != NULL ? BN_bn2hex(bn) : NULL;
	int len = i2d_X509_NAME(X509_get_issuer_name(x), &der);
	json_t *out = NULL;

	if (len > 0 && EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(),
	    NULL) == 1) {
		hex(md, mdlen, name_hash);
		if (X509_pubkey_digest(x, EVP_sha256(), md, &mdlen) == 1 &&
		    bnhex != NULL) {
			hex(md, mdlen, key_hash);
			/* serialNumber: string[40], hex without leading zeros
			 * (BN_bn2hex writes whole bytes: "0C2A..."). */
			const char *h = bnhex;

			while (*h == '0' && h[1] != '\0')
				h++;
			strlcpy_ok(serial, h, sizeof(serial));
			for (char *c = serial; *c != '\0'; c++)
				if (*c >= 'A' && *c <= 'F')
					*c = (char)(*c - 'A' + 'a');
			out = json_pack("{ssssssss}", "hashAlgorithm", "SHA256",
			    "issuerNameHash", name_hash, "issuerKeyHash",
			    key_hash, "serialNumber", serial);
		}
	}
	OPENSSL_free(der);
	OPENSSL_free(bnhex);
	BN_free(bn);
	return out;
}

/* Same certificate hash data (hex compared without case, the serial
 * without leading zeros). */
static bool
same_hash(json_t *a, json_t *b)
{
	static const char *const f[] = { "hashAlgorithm", "issuerNameHash",
		"issuerKeyHash", "serialNumber", NULL };

	for (int i = 0; f[i] != NULL; i++) {
		const char *x = json_string_value(json_object_get(a, f[i]));
		const char *y = json_string_value(json_object_get(b, f[i]));

		if (x == NULL || y == NULL)
			return false;
		if (i == 3) {
			while (*x == '0' && x[1] != '\0')
				x++;
			while (*y == '0' && y[1] != '\0')
				y++;
		}
		if (strcasecmp(x, y) != 0)
			return false;
	}
	return true;
}

/* The root kind of a file name ("csms-….pem"), or NULL. */
static const struct root_kind *
kind_of_file(const char *name)
{
	size_t n = strlen(name);

	if (n < 5 || strcmp(name + n - 4, ".pem") != 0)
		return NULL;
	for (const struct root_kind *k = root_kinds; k->prefix != NULL; k++) {
		size_t p = strlen(k->prefix);

		if (strncmp(name, k->prefix, p) == 0 && name[p] == '-')
			return k;
	}
	return NULL;
}

/* The root kind of a certificate type name of the session's version. */
static const struct root_kind *
kind_of_type(const struct ocpp_session *s, const char *type)
{
	for (const struct root_kind *k = root_kinds; k->prefix != NULL; k++)
		if (type != NULL && strcmp(type, session_v16(s) ? k->name16 :
		    k->name201) == 0)
			return k;
	return NULL;
}

/* Reads one certificate file (caller frees), or NULL. */
static X509 *
read_cert_file(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (f == NULL)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

/* Calls fn for each installed root certificate (kind k, or every kind
 * when k is NULL) until it returns true.  Returns that true. */
static bool
each_root(const char *dir, const struct root_kind *k,
    bool (*fn)(void *arg, const struct root_kind *k, const char *path,
    X509 *x), void *arg)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool stop = false;

	if (d == NULL)
		return false;
	while (!stop && (e = readdir(d)) != NULL) {
		const struct root_kind *fk = kind_of_file(e->d_name);
		char path[1024];
		X509 *x;

		if (fk == NULL || (k != NULL && fk != k) ||
		    !cert_path(dir, e->d_name, path, sizeof(path)) ||
		    (x = read_cert_file(path)) == NULL)
			continue;
		stop = fn(arg, fk, path, x);
		X509_free(x);
	}
	closedir(d);
	return stop;
}

/* Appends a file's text to a BIO (missing files add nothing). */
static void
append_file(BIO *out, const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[4096];
	size_t n;

	if (f == NULL)
		return;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		BIO_write(out, buf, (int)n);
	BIO_write(out, "\n", 1);
	fclose(f);
}

static bool
append_csms_root(void *arg, const struct root_kind *k, const char *path,
    X509 *x)
{
	(void)k;
	(void)x;
	append_file(arg, path);
	return false;
}

static bool
count_root(void *arg, const struct root_kind *k, const char *path, X509 *x)
{
	(void)k;
	(void)path;
	(void)x;
	(*(int *)arg)++;
	return false;
}

int
session_certs_count(const struct ocpp_session *s)
{
	int n = 0;

	if (s->st.cert_dir != NULL && s->st.cert_dir[0] != '\0')
		each_root(s->st.cert_dir, NULL, count_root, &n);
	return n;
}

const char *
ocpp_certs_trust_file(const struct ocpp_settings *st, char *buf, size_t len)
{
	const char *base = st->ca_file != NULL && st->ca_file[0] != '\0' ?
	    st->ca_file : X509_get_default_cert_file();
	int n = 0;
	BIO *out;
	char *text;
	size_t tlen;

	if (st->cert_dir == NULL || st->cert_dir[0] == '\0')
		return st->ca_file;
	each_root(st->cert_dir, &root_kinds[0], count_root, &n);
	if (n == 0)
		return st->ca_file;
	if ((out = BIO_new(BIO_s_mem())) == NULL)
		return st->ca_file;
	append_file(out, base);
	each_root(st->cert_dir, &root_kinds[0], append_csms_root, out);
	text = bio_text(out, &tlen);
	BIO_free(out);
	if (text == NULL || write_secret(st->cert_dir, TRUST_PEM, text,
	    tlen) != 0 || !cert_path(st->cert_dir, TRUST_PEM, buf, len)) {
		free(text);
		return st->ca_file;
	}
	free(text);
	return buf;
}

const char *
ocpp_certs_client_file(const struct ocpp_settings *st, char *buf, size_t len)
{
	if (st->cert_dir == NULL || st->cert_dir[0] == '\0' ||
	    !cert_path(st->cert_dir, CLIENT_PEM, buf, len) ||
	    access(buf, R_OK) != 0)
		return NULL;
	return buf;
}

/* ---- SignCertificate / CertificateSigned ---- */

int
session_sign_certificate(struct ocpp_session *s)
{
	EVP_PKEY *k = NULL;
	X509_REQ *req = NULL;
	BIO *kb = NULL, *rb = NULL;
	char *key_text = NULL, *csr = NULL;
	size_t key_len = 0;
	json_t *p;
	int rc = -1;

	if (s->st.cert_dir == NULL || s->st.cert_dir[0] == '\0')
		return -1;
	/* EC P-256 (A00.FR.306 / whitepaper: RSA >= 2048 or EC >= 224). */
	k = EVP_EC_gen("P-256");
	req = X509_REQ_new();
	kb = BIO_new(BIO_s_mem());
	rb = BIO_new(BIO_s_mem());
	if (k == NULL || req == NULL || kb == NULL || rb == NULL)
		goto out;
	/* CN = the identity (A02.FR.08 / whitepaper §3.2), O = CpoName /
	 * OrganizationName, by default the vendor. */
	if (X509_REQ_set_version(req, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN",
	    MBSTRING_UTF8, (const unsigned char *)s->st.identity, -1, -1,
	    0) != 1 ||
	    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "O",
	    MBSTRING_UTF8, (const unsigned char *)session_organization(s), -1,
	    -1, 0) != 1 ||
	    X509_REQ_set_pubkey(req, k) != 1 ||
	    X509_REQ_sign(req, k, EVP_sha256()) <= 0 ||
	    PEM_write_bio_PrivateKey(kb, k, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_X509_REQ(rb, req) != 1)
		goto out;
	key_text = bio_text(kb, &key_len);
	csr = bio_text(rb, NULL);
	if (key_text == NULL || csr == NULL ||
	    write_secret(s->st.cert_dir, PENDING_KEY, key_text, key_len) != 0)
		goto out;
	p = json_pack("{ss}", "csr", csr);
	if (!session_v16(s))
		json_object_set_new(p, "certificateType",
		    json_string("ChargingStationCertificate"));
	session_push_call(s, "SignCertificate", p);
	log_info("ocpp: new key and certificate signing request made: "
	    "SignCertificate sent");
	rc = 0;
out:
	if (rc != 0)
		log_warnx("ocpp: no certificate signing request: making the "
		    "key or CSR failed");
	if (key_text != NULL) {
		explicit_bzero(key_text, key_len);
		free(key_text);
	}
	free(csr);
	BIO_free(kb);	/* a memory BIO: its key bytes go with it */
	BIO_free(rb);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
	ERR_clear_error();
	return rc;
}

int
ocpp_session_sign_certificate(struct ocpp_session *s)
{
	return session_sign_certificate(s);
}

/* Reads the pending key (caller frees), or NULL. */
static EVP_PKEY *
pending_key(const struct ocpp_session *s)
{
	char path[1024];
	FILE *f;
	EVP_PKEY *k;

	if (!cert_path(s->st.cert_dir, PENDING_KEY, path, sizeof(path)) ||
	    (f = fopen(path, "r")) == NULL)
		return NULL;
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return k;
}

/* Checks a signed chain against the pending key: the first certificate
 * holds its public key, is valid now, and each certificate is signed by
 * the next one.  NULL, or why not. */
static const char *
check_chain(STACK_OF(X509) *chain, EVP_PKEY *key)
{
	X509 *leaf = sk_X509_value(chain, 0);

	if (X509_check_private_key(leaf, key) != 1)
		return "the certificate is not for the key of the request";
	if (X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0 ||
	    X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0)
		return "the certificate is not valid now";
	for (int i = 0; i + 1 < sk_X509_num(chain); i++) {
		EVP_PKEY *up = X509_get0_pubkey(sk_X509_value(chain, i + 1));

		if (up == NULL || X509_verify(sk_X509_value(chain, i), up) != 1)
			return "a certificate of the chain is not signed by the "
			    "next one";
	}
	return NULL;
}

json_t *
session_certificate_signed(struct ocpp_session *s, json_t *req)
{
	const char *pem = json_string_value(json_object_get(req,
	    "certificateChain"));
	const char *type = json_string_value(json_object_get(req,
	    "certificateType"));
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL;
	const char *why = NULL;
	BIO *out = NULL;
	char *text = NULL;
	size_t len = 0;
	bool ok = false;

	if (s->st.cert_dir == NULL || s->st.cert_dir[0] == '\0')
		why = "no certificate directory";
	else if (type != NULL && strcmp(type, "ChargingStationCertificate") != 0)
		why = "only the charging station certificate is kept";
	else if ((key = pending_key(s)) == NULL)
		why = "no certificate signing request is pending";
	else if ((chain = read_chain(pem)) == NULL)
		why = "no PEM certificate in the chain";
	else
		why = check_chain(chain, key);
	if (why == NULL) {
		/* Chain then key in one file: they are replaced together. */
		out = BIO_new(BIO_s_mem());
		for (int i = 0; out != NULL && i < sk_X509_num(chain); i++)
			PEM_write_bio_X509(out, sk_X509_value(chain, i));
		if (out != NULL &&
		    PEM_write_bio_PrivateKey(out, key, NULL, NULL, 0, NULL,
		    NULL) == 1 && (text = bio_text(out, &len)) != NULL &&
		    write_secret(s->st.cert_dir, CLIENT_PEM, text, len) == 0)
			ok = true;
		else
			why = "the certificate could not be stored";
	}
	if (ok) {
		char path[1024];

		if (cert_path(s->st.cert_dir, PENDING_KEY, path, sizeof(path)))
			unlink(path);
		log_info("ocpp: new client certificate installed");
		if (s->st.security_profile == 3 &&
		    transport_client_certificate(s->st.cert_dir) == 0)
			s->reconnect_due = true;
	} else {
		log_warnx("ocpp: CertificateSigned refused: %s", why);
		session_security_event(s, "InvalidChargingStationCertificate",
		    why);
	}
	if (text != NULL) {
		explicit_bzero(text, len);
		free(text);
	}
	BIO_free(out);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return json_pack("{ss}", "status", ok ? "Accepted" : "Rejected");
}

/* ---- root certificates ---- */

json_t *
session_install_certificate(struct ocpp_session *s, json_t *req)
{
	const char *type = json_string_value(json_object_get(req,
	    "certificateType"));
	const char *pem = json_string_value(json_object_get(req, "certificate"));
	const struct root_kind *k = kind_of_type(s, type);
	STACK_OF(X509) *chain = NULL;
	const char *status = "Rejected", *why = NULL;
	int n = 0;

	if (s->st.cert_dir == NULL || s->st.cert_dir[0] == '\0')
		why = "no certificate directory";
	else if (k == NULL)
		why = "this certificate type is not kept";
	else if ((chain = read_chain(pem)) == NULL || sk_X509_num(chain) != 1)
		why = "not one PEM certificate";
	else if (X509_check_ca(sk_X509_value(chain, 0)) == 0)
		why = "not a CA certificate";
	else if (each_root(s->st.cert_dir, NULL, count_root, &n),
	    n >= OCPP_CERT_ROOTS_MAX)
		why = "no room for more root certificates";
	if (why == NULL) {
		X509 *x = sk_X509_value(chain, 0);
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0;
		char fp[2 * EVP_MAX_MD_SIZE + 1], name[200];
		BIO *out = BIO_new(BIO_s_mem());
		char *text = NULL;
		size_t len = 0;

		status = "Failed";
		if (out != NULL && X509_digest(x, EVP_sha256(), md, &mdlen) == 1 &&
		    PEM_write_bio_X509(out, x) == 1 &&
		    (text = bio_text(out, &len)) != NULL) {
			hex(md, mdlen, fp);
			snprintf(name, sizeof(name), "%s-%s.pem", k->prefix, fp);
			if (write_secret(s->st.cert_dir, name, text, len) == 0) {
				status = "Accepted";
				if (k == &root_kinds[0])
					transport_trust(x);
			}
		}
		free(text);
		BIO_free(out);
		log_info("ocpp: InstallCertificate %s: %s", type, status);
	} else {
		log_warnx("ocpp: InstallCertificate %s refused: %s",
		    type != NULL ? type : "?", why);
	}
	sk_X509_pop_free(chain, X509_free);
	ERR_clear_error();
	if (strcmp(status, "Accepted") == 0)
		session_security_event(s, "ReconfigurationOfSecurityParameters",
		    "root certificate installed by the backend");
	return json_pack("{ss}", "status", status);
}

/* GetInstalledCertificateIds: collects hash data. */
struct id_walk {
	const struct ocpp_session *s;
	json_t *list;
};

static bool
add_id(void *arg, const struct root_kind *k, const char *path, X509 *x)
{
	struct id_walk *w = arg;
	json_t *h = hash_data(x);

	(void)path;
	if (h == NULL)
		return false;
	if (session_v16(w->s))
		json_array_append_new(w->list, h);
	else
		json_array_append_new(w->list, json_pack("{ssso}",
		    "certificateType", k->name201, "certificateHashData", h));
	return false;
}

json_t *
session_get_installed_ids(struct ocpp_session *s, json_t *req)
{
	struct id_walk w = { s, json_array() };
	json_t *res;

	if (s->st.cert_dir != NULL && s->st.cert_dir[0] != '\0') {
		if (session_v16(s)) {
			const struct root_kind *k = kind_of_type(s,
			    json_string_value(json_object_get(req,
			    "certificateType")));

			if (k != NULL)
				each_root(s->st.cert_dir, k, add_id, &w);
		} else {
			json_t *types = json_object_get(req, "certificateType");
			json_t *t;
			size_t i;

			if (json_array_size(types) == 0)
				each_root(s->st.cert_dir, NULL, add_id, &w);
			json_array_foreach(types, i, t) {
				const struct root_kind *k = kind_of_type(s,
				    json_string_value(t));

				if (k != NULL)
					each_root(s->st.cert_dir, k, add_id, &w);
			}
		}
	}
	res = json_pack("{ss}", "status", json_array_size(w.list) > 0 ?
	    "Accepted" : "NotFound");
	if (json_array_size(w.list) > 0)
		json_object_set(res, session_v16(s) ? "certificateHashData" :
		    "certificateHashDataChain", w.list);
	json_decref(w.list);
	return res;
}

/* DeleteCertificate: the file whose hash data matches. */
struct del_walk {
	json_t *want;
	char path[1024];
};

static bool
match_id(void *arg, const struct root_kind *k, const char *path, X509 *x)
{
	struct del_walk *w = arg;
	json_t *h = hash_data(x);
	bool same = h != NULL && same_hash(h, w->want);

	(void)k;
	json_decref(h);
	if (same)
		strlcpy_ok(w->path, path, sizeof(w->path));
	return same;
}

json_t *
session_delete_certificate(struct ocpp_session *s, json_t *req)
{
	struct del_walk w = { json_object_get(req, "certificateHashData"),
		"" };
	const char *status = "NotFound";

	if (s->st.cert_dir != NULL && s->st.cert_dir[0] != '\0' &&
	    each_root(s->st.cert_dir, NULL, match_id, &w)) {
		status = unlink(w.path) == 0 ? "Accepted" : "Failed";
		log_info("ocpp: DeleteCertificate: %s", status);
	}
	if (strcmp(status, "Accepted") == 0)
		session_security_event(s, "ReconfigurationOfSecurityParameters",
		    "root certificate deleted by the backend");
	return json_pack("{ss}", "status", status);
}
