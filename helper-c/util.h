/* Small shared helpers: descriptor cleanup, whole reads and writes, and a printf subset that keeps stdio
 * (and its floating-point formatting) out of the static binary. */
#ifndef HC_UTIL_H
#define HC_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#define HC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Closes *fd at scope exit (if it is >= 0) without disturbing errno. */
void hc_close_fdp(int *fd);
#define hc_cleanup_close __attribute__((cleanup(hc_close_fdp)))

/* Takes ownership out of a cleanup variable. */
static inline int hc_steal_fd(int *fd)
{
	int ret = *fd;

	*fd = -1;
	return ret;
}

/* Supports %s %d %u %ld %lu %lld %llu %x %lx %c and %%. Always NUL-terminates; truncates silently.
 * Returns the length written. */
size_t hc_vformat(char *buf, size_t size, const char *fmt, va_list ap);
__attribute__((format(printf, 3, 4))) size_t hc_format(char *buf, size_t size, const char *fmt, ...);

/* Write all of buf, retrying on EINTR and short writes. 0 or -1 with errno. */
int hc_write_all(int fd, const void *buf, size_t len);
/* Read until len bytes or EOF. The count read, or -1 with errno. */
ssize_t hc_read_full(int fd, void *buf, size_t len);
/* open(path, O_WRONLY) + one write(), as procfs and cgroupfs files want. 0 or -1 with errno. */
int hc_write_file(const char *path, const void *buf, size_t len);

/* Decimal string -> unsigned; -1 when s is not a plain number that fits. */
int hc_parse_uint(const char *s, unsigned long max, unsigned long *out);

/* s is non-NULL and non-empty (nanopb leaves absent strings NULL). */
static inline int hc_has(const char *s)
{
	return s != NULL && s[0] != '\0';
}

#endif
