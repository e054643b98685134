// Reading small files and /proc/PID/stat, for the two static launchers (src/cli/shim-launcher.c: dist/shim;
// src/containerd/launcher.c: containerd-shim-shim-v2), each one C file that includes this.
#ifndef SHIM_PROC_READ_H
#define SHIM_PROC_READ_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/** A whole (small) file into buf, NUL-terminated; -1 when it cannot be read or does not fit. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t used = 0;
	for (;;) {
		ssize_t n = read(fd, buf + used, size - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			if (n < 0)
				return -1;
			break;
		}
		used += (size_t)n;
		if (used == size - 1) {
			close(fd);
			return -1;
		}
	}
	buf[used] = '\0';
	return (ssize_t)used;
}

/**
 * True when the process PID ("self" too) is alive (not a zombie, not dead) and gives its start time: field 22
 * of /proc/PID/stat, in clock ticks, past the command's parenthesised name (which may hold anything,
 * parentheses and spaces too). What a pid and start time recorded together name is that one process.
 */
static int process_start_time(const char *pid, char *start_time, size_t start_size)
{
	char path[64], text[1024];
	snprintf(path, sizeof path, "/proc/%s/stat", pid);
	if (read_small(path, text, sizeof text) < 0)
		return 0;
	char *rest = strrchr(text, ')');
	if (rest == NULL || rest[1] != ' ')
		return 0;
	rest += 2;
	if (*rest == 'Z' || *rest == 'X' || *rest == 'x')
		return 0;
	// rest is field 3; field 22 is 19 spaces on.
	char *field = rest;
	for (int index = 0; index < 19; index++) {
		field = strchr(field, ' ');
		if (field == NULL)
			return 0;
		field++;
	}
	size_t length = strcspn(field, " \n");
	if (length == 0 || length >= start_size)
		return 0;
	memcpy(start_time, field, length);
	start_time[length] = '\0';
	return 1;
}

#endif
