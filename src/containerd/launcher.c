// containerd-shim-shim-v2: what containerd runs (the runtime v2 contract: src/containerd/shim-v2-main.ts).
// `make build` compiles this into dist/containerd-shim-shim-v2 (static, musl), beside the Node launcher it hands
// every other call to (containerd-shim-shim-v2.cjs, whose #! line names the node that built it).
//
// Why C: containerd runs `start` and `delete` once per container, on the path of each (`ctr run --rm` waits for
// both). A Node start costs 40 ms on an idle machine and several hundred under load; this used to be a dash
// script, whose own start (an exec of a dynamic binary) and the grep and date it ran came to 8-12 ms of CPU per
// call here, 20 under load, 2.0 s of a 50-container batch. A static binary of a few KB starts in well under a
// millisecond. It decides nothing of its own: each answer below is Node's, in Node's plain common case, checked
// byte for byte by test/unit/containerd-launcher.test.ts; anything else goes to Node.
//
// - `delete` of a container that has nothing left. containerd runs `delete` after every container, and nearly
//   always the server has deleted the container already. The answer is shim-v2-main.ts's for that case:
//   encodeDeleteResponse(0, 137, now) (wire.ts), where the state root is stateRootOf()'s
//   ($SHIM_CONTAINERD_ROOT, else /run/shim-containerd, then the namespace).
// - `start` of a container whose group's server is running. Node's answer (startServer) is the server's address,
//   also written to the bundle's `address` file. Here only for the namespace's group (groupOf: a config.json
//   without the CRI's sandbox annotation), whose server publishes itself in a record beside containerd's socket
//   (DIR/s/shim+NS+NAME.server: "PID STARTTIME NS ADDRESS SOCKET", shim-paths.ts serverRecordOf): the socket
//   comes from it, computing nothing of Node's. Before trusting the record this writes SOCKET.joining/ID, which
//   the server counts as a container joined before it decides to leave (server.ts leaveIfIdle withdraws the
//   record, then reads these), then finds the record unchanged and its process alive since that start time
//   (/proc): so an answer here is never a dead server nor one on its way out.
//
// Anything else (another action, an id, namespace or address that is not a plain name, a sandbox, a config.json
// with a \u escape (which could spell the annotation), no live server, a race lost, or SHIM_NO_FAST_PATH set)
// goes to Node. SHIM_CONTAINERD_TRACE=FILE appends one line per call: "END PID ACTION ID launcher|node BEGIN"
// (epoch seconds).

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../cli/proc-read.h"

#define RECORD_MAX 4096

static const char *action = "", *ns = "", *id = "", *address = "";
static struct timespec began;

static void trace(const char *by) {
	const char *file = getenv("SHIM_CONTAINERD_TRACE");
	if (file == NULL || *file == '\0') return;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0) return;
	dprintf(fd, "%lld.%09ld %d %s %s %s %lld.%09ld\n", (long long)now.tv_sec, now.tv_nsec, (int)getpid(), action, id, by,
	        (long long)began.tv_sec, began.tv_nsec);
	close(fd);
}

/** Node's isPlainName: not empty, no slash, not hidden. */
static int is_plain(const char *name) {
	return *name != '\0' && *name != '.' && strchr(name, '/') == NULL;
}

static int only_chars(const char *text, const char *extra) {
	for (const char *c = text; *c != '\0'; c++) {
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || strchr(extra, *c) != NULL)) return 0;
	}
	return 1;
}

static int all_digits(const char *text) {
	return *text != '\0' && strspn(text, "0123456789") == strlen(text);
}

struct server {
	char text[RECORD_MAX];
	const char *pid, *started, *socket;
};

/**
 * Reads a server record ("PID STARTTIME NAMESPACE ADDRESS SOCKET\n", shim-paths.ts serverRecordOf): true when
 * it names this namespace of this containerd.
 */
static int read_server(const char *record, struct server *server) {
	if (read_small(record, server->text, sizeof server->text) < 0) return 0;
	char *line = server->text;
	char *end = strchr(line, '\n');
	if (end != NULL) *end = '\0';
	char *fields[6];
	int count = 0;
	for (char *save = NULL, *field = strtok_r(line, " \t", &save); field != NULL; field = strtok_r(NULL, " \t", &save)) {
		if (count == 6) return 0;
		fields[count++] = field;
	}
	if (count != 5) return 0;
	server->pid = fields[0];
	server->started = fields[1];
	server->socket = fields[4];
	return all_digits(server->pid) && server->socket[0] == '/' && strcmp(fields[2], ns) == 0 && strcmp(fields[3], address) == 0;
}

/** True when the process lives (not a zombie) and started at `started`. */
static int alive(const char *pid, const char *started) {
	char start_time[32];
	return process_start_time(pid, start_time, sizeof start_time) && strcmp(start_time, started) == 0;
}

/**
 * Whether config.json (in the bundle: the cwd) names no sandbox, nor holds a \u escape that could spell one:
 * groupOf's namespace group. 1 yes, 0 no, -1 unreadable (Node says why).
 */
static int names_no_sandbox(void) {
	int fd = open("config.json", O_RDONLY | O_CLOEXEC);
	if (fd < 0) return -1;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	size_t size = (size_t)st.st_size;
	char *text = malloc(size + 1);
	size_t used = 0;
	while (text != NULL && used < size) {
		ssize_t n = read(fd, text + used, size - used);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) break;
		used += (size_t)n;
	}
	close(fd);
	if (text == NULL || used != size) return -1;
	int plain = memmem(text, used, "io.kubernetes.cri.sandbox-id", 28) == NULL && memmem(text, used, "\\u", 2) == NULL;
	free(text);
	return plain;
}

static int write_all(int fd, const char *text, size_t length) {
	while (length > 0) {
		ssize_t n = write(fd, text, length);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) return -1;
		text += n;
		length -= (size_t)n;
	}
	return 0;
}

/** Writes a whole file as Node's writeFileSync(path, text, {mode}) does: created with that mode (less the umask). */
static int write_file(const char *path, const char *text, mode_t mode) {
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) return -1;
	int result = write_all(fd, text, strlen(text));
	if (close(fd) != 0) result = -1;
	return result;
}

// --- delete ------------------------------------------------------------------------------------------------

static size_t varint(uint8_t *out, uint64_t value) {
	size_t length = 0;
	while (value >= 0x80) {
		out[length++] = (uint8_t)(value | 0x80);
		value >>= 7;
	}
	out[length++] = (uint8_t)value;
	return length;
}

/** DeleteResponse {pid 0 (omitted), exit_status 137, exited_at now, to the millisecond as wire.ts encodes it}. */
static int answer_delete(void) {
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	uint64_t nanos = (uint64_t)(now.tv_nsec / 1000000) * 1000000;
	uint8_t timestamp[24];
	size_t stamp = 0;
	timestamp[stamp++] = 0x08;
	stamp += varint(timestamp + stamp, (uint64_t)now.tv_sec);
	if (nanos != 0) {
		timestamp[stamp++] = 0x10;
		stamp += varint(timestamp + stamp, nanos);
	}
	uint8_t message[40] = {0x10, 0x89, 0x01, 0x1a};
	size_t length = 4;
	length += varint(message + length, stamp);
	memcpy(message + length, timestamp, stamp);
	length += stamp;
	if (write_all(1, (const char *)message, length) != 0) return 1;
	trace("launcher");
	return 0;
}

// --- start -------------------------------------------------------------------------------------------------

static int answer_start(const char *record) {
	struct server first, again;
	struct stat st;
	if (!read_server(record, &first) || stat(first.socket, &st) != 0 || !S_ISSOCK(st.st_mode)) return -1;
	if (names_no_sandbox() != 1) return -1;
	char marker[PATH_MAX], pid[24];
	if (snprintf(marker, sizeof marker, "%s.joining/%s", first.socket, id) >= (int)sizeof marker) return -1;
	snprintf(pid, sizeof pid, "%d\n", (int)getpid());
	if (write_file(marker, pid, 0666) != 0) return -1;
	// Joined; now the record must still be there, the same, its process alive since the same start.
	char answer[PATH_MAX + 8];
	snprintf(answer, sizeof answer, "unix://%s", first.socket);
	if (read_server(record, &again) && strcmp(again.pid, first.pid) == 0 && strcmp(again.started, first.started) == 0 &&
	    strcmp(again.socket, first.socket) == 0 && alive(first.pid, first.started) && write_file("address", answer, 0600) == 0 &&
	    write_all(1, answer, strlen(answer)) == 0) {
		trace("launcher");
		return 0;
	}
	unlink(marker);
	return -1;
}

/** The namespace's server record (serverRecordOf), or 0 when the address or namespace is not a plain name. */
static int record_path(char *out, size_t size) {
	const char *path = strncmp(address, "unix://", 7) == 0 ? address + 7 : address;
	size_t length = strlen(path);
	if (path[0] != '/' || path[length - 1] == '/' || !only_chars(path, "/._-") || strstr(path, "//") != NULL || strstr(path, "/.") != NULL) return 0;
	if (!only_chars(ns, "._-")) return 0;
	const char *name = strrchr(path, '/') + 1;
	return snprintf(out, size, "%.*s/s/shim+%s+%s.server", (int)(name - 1 - path), path, ns, name) < (int)size;
}

int main(int argc, char **argv) {
	if (getenv("SHIM_CONTAINERD_TRACE") != NULL) clock_gettime(CLOCK_REALTIME, &began);
	if (argc > 1) action = argv[argc - 1];
	ns = getenv("NAMESPACE") != NULL ? getenv("NAMESPACE") : "";
	// containerd's flags (Go's flag syntax: -name value, -name=value, --name value); flags.ts parses them all.
	for (int index = 1; index < argc; index++) {
		const char *arg = argv[index], *value = NULL;
		const char *name = arg[0] == '-' ? (arg[1] == '-' ? arg + 2 : arg + 1) : NULL;
		if (name == NULL) continue;
		const char *equals = strchr(name, '=');
		size_t length = equals != NULL ? (size_t)(equals - name) : strlen(name);
		if (equals != NULL) value = equals + 1;
		else if (index + 1 < argc) value = argv[index + 1];
		if (value == NULL) continue;
		if (length == 9 && strncmp(name, "namespace", 9) == 0) ns = value;
		else if (length == 2 && strncmp(name, "id", 2) == 0) id = value;
		else if (length == 7 && strncmp(name, "address", 7) == 0) address = value;
	}
	// SHIM_NO_FAST_PATH=1 sends everything to Node, as dist/shim's launcher does: to compare, or to rule this out.
	const char *no_fast_path = getenv("SHIM_NO_FAST_PATH");
	int plain = is_plain(ns) && is_plain(id) && (no_fast_path == NULL || *no_fast_path == '\0');

	if (plain && strcmp(action, "delete") == 0) {
		const char *root = getenv("SHIM_CONTAINERD_ROOT");
		char state[PATH_MAX];
		struct stat st;
		if (snprintf(state, sizeof state, "%s/%s/%s", root != NULL && *root != '\0' ? root : "/run/shim-containerd", ns, id) < (int)sizeof state &&
		    lstat(state, &st) != 0 && errno == ENOENT)
			return answer_delete();
	}
	char record[PATH_MAX];
	if (plain && strcmp(action, "start") == 0 && record_path(record, sizeof record) && answer_start(record) == 0) return 0;

	trace("node");
	char self[PATH_MAX];
	ssize_t self_length = readlink("/proc/self/exe", self, sizeof self - 5);
	if (self_length <= 0) {
		fprintf(stderr, "containerd-shim-shim-v2: /proc/self/exe: %s\n", strerror(errno));
		return 1;
	}
	memcpy(self + self_length, ".cjs", 5);
	argv[0] = self;
	execv(self, argv);
	fprintf(stderr, "containerd-shim-shim-v2: exec %s: %s\n", self, strerror(errno));
	return 1;
}
