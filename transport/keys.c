/* keys.c — CURVE key pairs, and reading and writing CZMQ certificate files.
 *
 * Every buffer that held a secret key, in binary or Z85, is wiped with
 * sodium_memzero before it is freed or goes out of scope. Error messages
 * about a key file never quote its text: they give positions. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#include "../actors/core.h"
#include "keys.h"

/* Key files are a few hundred bytes; anything much larger is not one. */
#define KEYFILE_MAX 65536

static const char z85_alphabet[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

static bool is_z85(char c) { return c != '\0' && strchr(z85_alphabet, c) != NULL; }

static void seterr(tri_key_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void seterr(tri_key_error *err, const char *fmt, ...)
{
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof err->text, fmt, ap);
    va_end(ap);
}

/* sodium_init is idempotent and thread-safe; it only fails if the system
 * has no usable source of randomness. */
static bool sodium_ready(void) { return sodium_init() >= 0; }

bool tri_node_name_valid(const char *name)
{
    if (!name || !*name || name[0] == '.' || name[0] == '-') return false;
    size_t n = 0;
    for (const char *c = name; *c; c++, n++) {
        if (n >= TRI_NODE_NAME_MAX) return false;
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '@' || *c == '-';
        if (!ok) return false;
    }
    return true;
}

int tri_keypair_new(tri_keypair *kp)
{
    if (!kp) return TR_EINVAL;
    if (!sodium_ready()) return TR_ENOMEM;
    if (crypto_box_keypair(kp->public_key, kp->secret_key) != 0) {
        tri_keypair_wipe(kp);
        return TR_ENOMEM;
    }
    return TR_OK;
}

void tri_keypair_wipe(tri_keypair *kp)
{
    if (kp) sodium_memzero(kp, sizeof *kp);
}

int tri_key_public_of(const uint8_t secret_key[TRI_KEY_BYTES], uint8_t public_key[TRI_KEY_BYTES])
{
    if (!secret_key || !public_key || !sodium_ready()) return TR_EINVAL;
    return crypto_scalarmult_base(public_key, secret_key) == 0 ? TR_OK : TR_EINVAL;
}

void tri_key_to_z85(const uint8_t key[TRI_KEY_BYTES], char out[TRI_KEY_Z85_LEN + 1])
{
    zmq_z85_encode(out, key, TRI_KEY_BYTES);
}

/* Decodes text[0..40) (not necessarily NUL-terminated) into key. */
static bool z85_decode40(const char *text, uint8_t key[TRI_KEY_BYTES])
{
    char z[TRI_KEY_Z85_LEN + 1];
    memcpy(z, text, TRI_KEY_Z85_LEN);
    z[TRI_KEY_Z85_LEN] = '\0';
    uint8_t tmp[TRI_KEY_BYTES];
    bool ok = zmq_z85_decode(tmp, z) != NULL;
    if (ok) memcpy(key, tmp, sizeof tmp);
    sodium_memzero(z, sizeof z);
    sodium_memzero(tmp, sizeof tmp);
    return ok;
}

int tri_key_from_z85(const char *text, uint8_t key[TRI_KEY_BYTES])
{
    if (!text || !key) return TR_EINVAL;
    memset(key, 0, TRI_KEY_BYTES);
    if (strnlen(text, TRI_KEY_Z85_LEN + 1) != TRI_KEY_Z85_LEN) return TR_EINVAL;
    for (int i = 0; i < TRI_KEY_Z85_LEN; i++)
        if (!is_z85(text[i])) return TR_EINVAL;
    return z85_decode40(text, key) ? TR_OK : TR_EINVAL;
}

/* ---- parsing -------------------------------------------------------- */

/* What one key file holds. Positions are 1-based; line 0 means absent. */
typedef struct keyfile {
    bool bare; /* a lone Z85 line: the key is in `bare_key` */
    uint8_t bare_key[TRI_KEY_BYTES];
    uint8_t public_key[TRI_KEY_BYTES];
    uint8_t secret_key[TRI_KEY_BYTES];
    int public_line, public_col, secret_line, secret_col;
    char name[TRI_NODE_NAME_MAX + 1]; /* "" if none */
    int eof_line;                     /* the line after the last one */
} keyfile;

/* Errors give positions and never quote the file: a secret key may be
 * anywhere in it, even in a file that should have been public. */
typedef struct parser {
    const char *path;
    tri_key_error *err;
    int line;
} parser;

static int perr(parser *p, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int perr(parser *p, int line, int col, const char *fmt, ...)
{
    if (!p->err) return TR_EINVAL;
    int n = snprintf(p->err->text, sizeof p->err->text, "%s:%d:%d: ", p->path, line, col);
    if (n < 0 || (size_t)n >= sizeof p->err->text) return TR_EINVAL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->text + n, sizeof p->err->text - (size_t)n, fmt, ap);
    va_end(ap);
    return TR_EINVAL;
}

/* ZPL name characters (as CZMQ's zconfig accepts them). */
static bool is_namechar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '$' ||
           c == '-' || c == '_' || c == '@' || c == '.' || c == '&' || c == '+' || c == '/';
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/* A key value at `col` of the current line: exactly 40 Z85 characters. */
static int parse_key(parser *p, const char *v, size_t n, int col, uint8_t key[TRI_KEY_BYTES])
{
    if (n != TRI_KEY_Z85_LEN)
        return perr(p, p->line, col, "wrong key length: expected %d Z85 characters, found %zu",
                    TRI_KEY_Z85_LEN, n);
    for (size_t i = 0; i < n; i++) {
        if (!is_z85(v[i]))
            return perr(p, p->line, col + (int)i,
                        "bad Z85 character (expected one of 0-9 a-z A-Z .-:+=^!/*?&<>()[]{}@%%$#)");
    }
    if (!z85_decode40(v, key))
        return perr(p, p->line, col,
                    "not a valid Z85 key (a group of 5 characters exceeds 32 bits)");
    return TR_OK;
}

/* A file that is one line without blanks or quotes, and not a section
 * name, is meant as a bare key ('=' is a Z85 character). */
static bool looks_bare(const char *buf, size_t len)
{
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || is_blank(buf[len - 1])))
        len--;
    if (len == 0) return false;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (c == '\n' || is_blank(c) || c == '"' || c == '\'' || c == '\0') return false;
    }
    if ((len == 8 && memcmp(buf, "metadata", 8) == 0) || (len == 5 && memcmp(buf, "curve", 5) == 0))
        return false;
    return true;
}

static int parse_bare(parser *p, const char *buf, size_t len, keyfile *kf)
{
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || is_blank(buf[len - 1])))
        len--;
    p->line = 1;
    if (len != TRI_KEY_Z85_LEN)
        return perr(p, 1, 1,
                    "expected a key file or a bare key of %d Z85 characters, found one line of "
                    "%zu characters",
                    TRI_KEY_Z85_LEN, len);
    int rc = parse_key(p, buf, len, 1, kf->bare_key);
    if (rc == TR_OK) kf->bare = true;
    return rc;
}

enum section { SEC_NONE, SEC_METADATA, SEC_CURVE };

/* One `    name = "value"` line; `s` is the line without its trailing
 * blanks, `n` its length; the name starts at index 4. */
static int parse_property(parser *p, const char *s, size_t n, enum section sec, keyfile *kf)
{
    size_t i = 4;
    size_t name_at = i;
    while (i < n && is_namechar(s[i]))
        i++;
    size_t name_len = i - name_at;
    if (name_len == 0)
        return perr(p, p->line, (int)i + 1, "expected a property name (letters, digits, $-_@.&+/)");
    const char *name = s + name_at;
    while (i < n && is_blank(s[i]))
        i++;
    if (i >= n || s[i] != '=')
        return perr(p, p->line, (int)i + 1, "expected '=' after the property name");
    i++;
    while (i < n && is_blank(s[i]))
        i++;
    if (i >= n || (s[i] != '"' && s[i] != '\''))
        return perr(p, p->line, (int)i + 1, "expected a quoted value (\"...\") after '='");
    char quote = s[i];
    size_t open = i;
    size_t v = ++i;
    while (i < n && s[i] != quote)
        i++;
    if (i >= n)
        return perr(p, p->line, (int)n + 1, "missing closing %c (the value opened at column %zu)",
                    quote, open + 1);
    size_t vlen = i - v;
    i++;
    while (i < n && is_blank(s[i]))
        i++;
    if (i < n && s[i] != '#')
        return perr(p, p->line, (int)i + 1,
                    "unexpected text after the value (expected the end of the line or '#')");

#define NAME_IS(lit) (name_len == sizeof(lit) - 1 && memcmp(name, lit, name_len) == 0)
    if (sec == SEC_METADATA) {
        if (!NAME_IS("name")) return TR_OK; /* other metadata is kept by CZMQ, not by us */
        if (kf->name[0])
            return perr(p, p->line, (int)name_at + 1, "'name' given twice in section 'metadata'");
        char tmp[TRI_NODE_NAME_MAX + 2];
        size_t cp = vlen < sizeof tmp - 1 ? vlen : sizeof tmp - 1;
        memcpy(tmp, s + v, cp);
        tmp[cp] = '\0';
        if (!tri_node_name_valid(tmp))
            return perr(p, p->line, (int)v + 1,
                        "the metadata name is not a valid node name (expected 1 to %d of "
                        "A-Z a-z 0-9 . _ @ -, not starting with '.' or '-')",
                        TRI_NODE_NAME_MAX);
        memcpy(kf->name, tmp, cp + 1);
        return TR_OK;
    }
    /* SEC_CURVE */
    if (NAME_IS("public-key")) {
        if (kf->public_line) return perr(p, p->line, (int)name_at + 1, "'public-key' given twice");
        kf->public_line = p->line;
        kf->public_col = (int)v + 1;
        return parse_key(p, s + v, vlen, (int)v + 1, kf->public_key);
    }
    if (NAME_IS("secret-key")) {
        if (kf->secret_line) return perr(p, p->line, (int)name_at + 1, "'secret-key' given twice");
        kf->secret_line = p->line;
        kf->secret_col = (int)v + 1;
        return parse_key(p, s + v, vlen, (int)v + 1, kf->secret_key);
    }
#undef NAME_IS
    return perr(p, p->line, (int)name_at + 1,
                "unknown name in section 'curve' (expected 'public-key' or 'secret-key')");
}

/* A section line: the name at column 1. */
static int parse_section(parser *p, const char *s, size_t n, enum section *sec, bool seen[3])
{
    size_t i = 0;
    while (i < n && is_namechar(s[i]))
        i++;
    if (i == 0)
        return perr(p, p->line, 1, "expected a section name ('metadata' or 'curve') or '#'");
    size_t len = i;
    while (i < n && is_blank(s[i]))
        i++;
    if (i < n && s[i] == '=')
        return perr(p, p->line, (int)i + 1,
                    "a section takes no value (expected 'metadata' or 'curve' alone)");
    if (i < n && s[i] != '#')
        return perr(p, p->line, (int)i + 1,
                    "unexpected text after the section name (expected the end of the line)");
    enum section got;
    if (len == 8 && memcmp(s, "metadata", 8) == 0)
        got = SEC_METADATA;
    else if (len == 5 && memcmp(s, "curve", 5) == 0)
        got = SEC_CURVE;
    else
        return perr(p, p->line, 1, "unknown section (expected 'metadata' or 'curve')");
    if (seen[got])
        return perr(p, p->line, 1, "section '%s' given twice",
                    got == SEC_CURVE ? "curve" : "metadata");
    seen[got] = true;
    *sec = got;
    return TR_OK;
}

static int parse_zpl(parser *p, const char *buf, size_t len, keyfile *kf)
{
    enum section sec = SEC_NONE;
    bool seen[3] = {false, false, false};
    size_t at = 0;
    p->line = 0;
    while (at < len) {
        const char *s = buf + at;
        const char *nl = memchr(s, '\n', len - at);
        size_t n = nl ? (size_t)(nl - s) : len - at;
        at += n + (nl ? 1 : 0);
        p->line++;
        while (n && (s[n - 1] == '\r' || is_blank(s[n - 1])))
            n--;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return perr(p, p->line, (int)i + 1, "unexpected control character");
        }
        if (n == 0) continue;
        size_t ind = 0;
        while (ind < n && s[ind] == ' ')
            ind++;
        if (s[ind] == '\t')
            return perr(p, p->line, (int)ind + 1, "tab in the indentation (expected spaces)");
        if (s[ind] == '#') continue;
        int rc;
        if (ind == 0) {
            rc = parse_section(p, s, n, &sec, seen);
        } else if (ind == 4) {
            if (sec == SEC_NONE)
                return perr(p, p->line, 5,
                            "a property outside any section (expected 'metadata' or 'curve' at "
                            "column 1 first)");
            rc = parse_property(p, s, n, sec, kf);
        } else {
            return perr(p, p->line, (int)ind + 1, "bad indent: expected 0 or 4 spaces, found %zu%s",
                        ind,
                        ind % 4 == 0 ? " (the sections of a key file hold no subsections)" : "");
        }
        if (rc != TR_OK) return rc;
    }
    kf->eof_line = p->line + 1;
    return TR_OK;
}

static int parse_keyfile(parser *p, const char *buf, size_t len, keyfile *kf)
{
    memset(kf, 0, sizeof *kf);
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\0') {
            /* position of the NUL, for the message */
            int line = 1, col = 1;
            for (size_t j = 0; j < i; j++) {
                if (buf[j] == '\n') {
                    line++;
                    col = 1;
                } else {
                    col++;
                }
            }
            return perr(p, line, col, "unexpected NUL byte (a key file is text)");
        }
    }
    if (looks_bare(buf, len)) return parse_bare(p, buf, len, kf);
    return parse_zpl(p, buf, len, kf);
}

static void keyfile_wipe(keyfile *kf) { sodium_memzero(kf, sizeof *kf); }

/* ---- files ---------------------------------------------------------- */

/* Reads a whole key file into a malloc'ed buffer. For a secret file the
 * permission check is on the descriptor we read from, so a file swapped
 * in after the check cannot be read instead. */
static int read_keyfile(const char *path, bool secret, char **out, size_t *out_len,
                        tri_key_error *err)
{
    *out = NULL;
    *out_len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        seterr(err, "%s: cannot open: %s", path, strerror(e));
        return e == ENOENT ? TR_ENOENT : TR_EINVAL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        seterr(err, "%s: cannot stat: %s", path, strerror(errno));
        close(fd);
        return TR_EINVAL;
    }
    if (!S_ISREG(st.st_mode)) {
        seterr(err, "%s: not a regular file", path);
        close(fd);
        return TR_EINVAL;
    }
    if (secret && (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH))) {
        seterr(err,
               "%s: secret key file is readable or writable by group or others (mode %04o); "
               "refusing it: it must be 0600 or stricter",
               path, (unsigned)(st.st_mode & 07777));
        close(fd);
        return TR_EINVAL;
    }
    if (st.st_size > KEYFILE_MAX) {
        seterr(err, "%s: too large for a key file (%lld bytes, at most %d)", path,
               (long long)st.st_size, KEYFILE_MAX);
        close(fd);
        return TR_EINVAL;
    }
    char *buf = malloc(KEYFILE_MAX + 1);
    if (!buf) {
        close(fd);
        seterr(err, "%s: out of memory", path);
        return TR_ENOMEM;
    }
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, KEYFILE_MAX + 1 - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            seterr(err, "%s: cannot read: %s", path, strerror(errno));
            sodium_memzero(buf, len);
            free(buf);
            close(fd);
            return TR_EINVAL;
        }
        if (r == 0) break;
        len += (size_t)r;
        if (len > KEYFILE_MAX) { /* grew since fstat */
            seterr(err, "%s: too large for a key file (more than %d bytes)", path, KEYFILE_MAX);
            sodium_memzero(buf, len);
            free(buf);
            close(fd);
            return TR_EINVAL;
        }
    }
    close(fd);
    *out = buf;
    *out_len = len;
    return TR_OK;
}

static void free_keybuf(char *buf, size_t len)
{
    if (!buf) return;
    sodium_memzero(buf, len);
    free(buf);
}

int tri_keys_load_secret(const char *path, tri_keypair *kp, char *name, tri_key_error *err)
{
    if (err) err->text[0] = '\0';
    if (name) name[0] = '\0';
    if (!path || !kp) {
        seterr(err, "tri_keys_load_secret: NULL argument");
        return TR_EINVAL;
    }
    sodium_memzero(kp, sizeof *kp);
    if (!sodium_ready()) {
        seterr(err, "%s: libsodium failed to initialise", path);
        return TR_ENOMEM;
    }
    char *buf;
    size_t len;
    int rc = read_keyfile(path, true, &buf, &len, err);
    if (rc != TR_OK) return rc;
    parser p = {.path = path, .err = err};
    keyfile kf;
    rc = parse_keyfile(&p, buf, len, &kf);
    free_keybuf(buf, len);
    if (rc == TR_OK && kf.bare) {
        memcpy(kp->secret_key, kf.bare_key, TRI_KEY_BYTES);
        rc = tri_key_public_of(kp->secret_key, kp->public_key);
        if (rc != TR_OK) seterr(err, "%s: cannot derive the public key", path);
    } else if (rc == TR_OK) {
        if (!kf.secret_line) {
            rc = perr(&p, kf.eof_line, 1, "end of file: expected 'secret-key' in section 'curve'");
        } else if (!kf.public_line) {
            rc = perr(&p, kf.eof_line, 1, "end of file: expected 'public-key' in section 'curve'");
        } else {
            memcpy(kp->secret_key, kf.secret_key, TRI_KEY_BYTES);
            rc = tri_key_public_of(kp->secret_key, kp->public_key);
            if (rc == TR_OK && sodium_memcmp(kp->public_key, kf.public_key, TRI_KEY_BYTES) != 0)
                rc = perr(&p, kf.public_line, kf.public_col,
                          "public-key does not belong to secret-key (expected the public key "
                          "derived from it)");
        }
        if (rc == TR_OK && name) memcpy(name, kf.name, sizeof kf.name);
    }
    keyfile_wipe(&kf);
    if (rc != TR_OK) sodium_memzero(kp, sizeof *kp);
    return rc;
}

int tri_keys_load_public(const char *path, uint8_t public_key[TRI_KEY_BYTES], char *name,
                         tri_key_error *err)
{
    if (err) err->text[0] = '\0';
    if (name) name[0] = '\0';
    if (!path || !public_key) {
        seterr(err, "tri_keys_load_public: NULL argument");
        return TR_EINVAL;
    }
    memset(public_key, 0, TRI_KEY_BYTES);
    char *buf;
    size_t len;
    int rc = read_keyfile(path, false, &buf, &len, err);
    if (rc != TR_OK) return rc;
    parser p = {.path = path, .err = err};
    keyfile kf;
    rc = parse_keyfile(&p, buf, len, &kf);
    free_keybuf(buf, len);
    if (rc == TR_OK && kf.bare) {
        memcpy(public_key, kf.bare_key, TRI_KEY_BYTES);
    } else if (rc == TR_OK) {
        if (kf.secret_line)
            rc = perr(&p, kf.secret_line, 1,
                      "a public key file must not hold 'secret-key' (expected only "
                      "'public-key'; is this a .key file?)");
        else if (!kf.public_line)
            rc = perr(&p, kf.eof_line, 1, "end of file: expected 'public-key' in section 'curve'");
        else
            memcpy(public_key, kf.public_key, TRI_KEY_BYTES);
        if (rc == TR_OK && name) memcpy(name, kf.name, sizeof kf.name);
    }
    keyfile_wipe(&kf);
    return rc;
}

/* ---- writing -------------------------------------------------------- */

static int write_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The text of a certificate; `secret_z85` NULL for the public one. */
static int format_cert(char *out, size_t cap, const char *name, const char *created,
                       const char *public_z85, const char *secret_z85)
{
    int n;
    if (secret_z85)
        n = snprintf(out, cap,
                     "#   ****  Generated on %s by troupe keygen  ****\n"
                     "#   ZeroMQ CURVE **Secret** Certificate\n"
                     "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n"
                     "\n"
                     "metadata\n"
                     "    name = \"%s\"\n"
                     "    created = \"%s\"\n"
                     "curve\n"
                     "    public-key = \"%s\"\n"
                     "    secret-key = \"%s\"\n",
                     created, name, created, public_z85, secret_z85);
    else
        n = snprintf(out, cap,
                     "#   ****  Generated on %s by troupe keygen  ****\n"
                     "#   ZeroMQ CURVE Public Certificate\n"
                     "#   Exchange securely, or use a secure mechanism to verify the contents\n"
                     "#   of this file after exchange. Store public certificates in your home\n"
                     "#   directory, in the .curve subdirectory.\n"
                     "\n"
                     "metadata\n"
                     "    name = \"%s\"\n"
                     "    created = \"%s\"\n"
                     "curve\n"
                     "    public-key = \"%s\"\n",
                     created, name, created, public_z85);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* Creates `path` exclusively with `mode` and writes `text` to it, synced. */
static int create_file(const char *path, mode_t mode, const char *text, size_t n,
                       tri_key_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, mode);
    if (fd < 0) {
        int e = errno;
        if (e == EEXIST) {
            seterr(err, "%s exists; refusing to overwrite it", path);
            return TR_EEXIST;
        }
        seterr(err, "%s: cannot create: %s", path, strerror(e));
        return e == ENOENT ? TR_ENOENT : TR_EINVAL;
    }
    if (write_all(fd, text, n) != 0 || fsync(fd) != 0) {
        seterr(err, "%s: cannot write: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return TR_EINVAL;
    }
    if (close(fd) != 0) {
        seterr(err, "%s: cannot write: %s", path, strerror(errno));
        unlink(path);
        return TR_EINVAL;
    }
    return TR_OK;
}

int tri_keys_write(const char *dir, const char *name, const tri_keypair *kp, tri_key_error *err)
{
    if (err) err->text[0] = '\0';
    if (!kp || !tri_node_name_valid(name)) {
        seterr(err,
               "not a valid node name (expected 1 to %d of A-Z a-z 0-9 . _ @ -, not "
               "starting with '.' or '-')",
               TRI_NODE_NAME_MAX);
        return TR_EINVAL;
    }
    if (!dir || !*dir) dir = ".";
    char key_path[PATH_MAX], pub_path[PATH_MAX];
    int a = snprintf(key_path, sizeof key_path, "%s/%s.key", dir, name);
    int b = snprintf(pub_path, sizeof pub_path, "%s/%s.pub", dir, name);
    if (a < 0 || b < 0 || (size_t)a >= sizeof key_path || (size_t)b >= sizeof pub_path) {
        seterr(err, "%s/%s.key: path too long", dir, name);
        return TR_EINVAL;
    }
    char created[32];
    time_t now = time(NULL);
    struct tm tm;
    if (!gmtime_r(&now, &tm) || strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(created, sizeof created, "unknown");

    char pub_z85[TRI_KEY_Z85_LEN + 1], sec_z85[TRI_KEY_Z85_LEN + 1];
    tri_key_to_z85(kp->public_key, pub_z85);
    tri_key_to_z85(kp->secret_key, sec_z85);
    /* 2 * 255 (name) + 2 * 32 (time) + 2 * 40 (keys) + boilerplate < 1024 */
    char sec_text[1024], pub_text[1024];
    int sn = format_cert(sec_text, sizeof sec_text, name, created, pub_z85, sec_z85);
    int pn = format_cert(pub_text, sizeof pub_text, name, created, pub_z85, NULL);
    sodium_memzero(sec_z85, sizeof sec_z85);
    int rc = TR_EINVAL;
    if (sn < 0 || pn < 0) {
        seterr(err, "%s: certificate text too long", key_path);
    } else {
        rc = create_file(key_path, 0600, sec_text, (size_t)sn, err);
        if (rc == TR_OK) {
            rc = create_file(pub_path, 0644, pub_text, (size_t)pn, err);
            if (rc != TR_OK) unlink(key_path); /* we created it a moment ago */
        }
    }
    sodium_memzero(sec_text, sizeof sec_text);
    return rc;
}

int tri_keys_curve_client(void *socket, const tri_keypair *kp,
                          const uint8_t server_key[TRI_KEY_BYTES])
{
    if (!socket || !kp || !server_key) return TR_EINVAL;
    if (zmq_setsockopt(socket, ZMQ_CURVE_SERVERKEY, server_key, TRI_KEY_BYTES) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_PUBLICKEY, kp->public_key, TRI_KEY_BYTES) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, kp->secret_key, TRI_KEY_BYTES) != 0)
        return TR_EINVAL;
    return TR_OK;
}
